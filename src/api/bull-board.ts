import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { KoaAdapter } from '@bull-board/koa';
import type { Queue } from 'bullmq';
import type { Middleware } from 'koa';
import { safeEqual } from '../security/api-keys';

export const BULL_BOARD_PATH = '/admin/queues';

/** Bull Board over every queue, behind HTTP basic auth whose password is the admin key (any user name). */
export function createBullBoardMiddleware(queues: Queue[], adminApiKey: string): Middleware {
  const serverAdapter = new KoaAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({ queues: queues.map((q) => new BullMQAdapter(q)), serverAdapter });
  const board = serverAdapter.registerPlugin() as Middleware;
  return async (ctx, next) => {
    if (ctx.path !== BULL_BOARD_PATH && !ctx.path.startsWith(`${BULL_BOARD_PATH}/`)) return next();
    const header = ctx.get('Authorization');
    const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header);
    const decoded = match?.[1] ? Buffer.from(match[1], 'base64').toString('utf8') : '';
    const password = decoded.includes(':') ? decoded.slice(decoded.indexOf(':') + 1) : '';
    if (password === '' || !safeEqual(password, adminApiKey)) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Basic realm="Convergence queues", charset="UTF-8"');
      ctx.body = { detail: 'Admin credentials required', code: 'ADMIN_KEY_REQUIRED', request_id: (ctx.state as { requestId?: string }).requestId };
      return;
    }
    return board(ctx, next);
  };
}
