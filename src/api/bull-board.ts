import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { KoaAdapter } from '@bull-board/koa';
import type { Queue } from 'bullmq';
import type { Context, Middleware, Next } from 'koa';
import type { AuditRecorder } from '../audit/actions';
import { AppError } from '../shared/errors';
import { dashboardLogin } from './dashboard-audit';
import { checkAdminKey } from './middleware/auth';
import type { AuthFailureLimiter } from './middleware/rate-limit';

export const BULL_BOARD_PATH = '/admin/queues';

export interface BullBoardDeps {
  queues: Queue[];
  adminApiKey: string;
  authFailures: AuthFailureLimiter;
  /** Counts requests without the right password (the anonymous per-IP allowance). */
  perIp: Middleware;
  /** Counts requests with the right password (the admin allowance). */
  perAdmin: Middleware;
  /** Records dashboard logins (page loads with the right password) and wrong passwords (dashboard-audit.ts). */
  audit?: AuditRecorder;
}

const CHALLENGE = { 'WWW-Authenticate': 'Basic realm="Convergence queues", charset="UTF-8"' };

/** The password of an HTTP basic `Authorization` header (any user name); '' when there is none. */
function basicPassword(header: string): string {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header);
  const decoded = match?.[1] ? Buffer.from(match[1], 'base64').toString('utf8') : '';
  return decoded.includes(':') ? decoded.slice(decoded.indexOf(':') + 1) : '';
}

/**
 * Bull Board's page links a Google Fonts stylesheet: each admin visit would tell Google, and offline
 * the page waits for it. Its CSS already falls back to system fonts, so every `<link>` to another
 * host is dropped from the page. The Content-Security-Policy (security-headers.ts) is what
 * guarantees no other external load; this only spares the browser a refused request.
 */
export function withoutExternalLinks(html: string): string {
  return html.replace(/<link\b[^>]*\bhref=["']?(?:https?:)?\/\/[^>]*>\s*/gi, '');
}

/**
 * Bull Board over every queue, behind HTTP basic auth whose password is the admin key. Every queue is
 * read-only on the board (no add, retry, promote, clean, empty, pause, obliterate, scheduler edits):
 * runs start only through admission, which counts quota and holds the concurrency slot a run needs.
 * The maintenance queue holds the scheduler's own repeatables (installed at start); removing or
 * pausing them from the board would silently stop scheduling, and the routines an operator may want
 * to run by hand have idempotent admin endpoints.
 * Wrong passwords count as failed authentications, like wrong API and admin keys.
 */
export function createBullBoardMiddleware(deps: BullBoardDeps): Middleware {
  const serverAdapter = new KoaAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({ queues: deps.queues.map((q) => new BullMQAdapter(q, { readOnlyMode: true })), serverAdapter });
  const board = serverAdapter.registerPlugin() as Middleware;

  const serve = async (ctx: Context, next: Next): Promise<void> => {
    await board(ctx, next);
    if (typeof ctx.body === 'string' && ctx.response.is('html')) ctx.body = withoutExternalLinks(ctx.body);
  };

  return async (ctx, next) => {
    if (ctx.path !== BULL_BOARD_PATH && !ctx.path.startsWith(`${BULL_BOARD_PATH}/`)) return next();
    const check = checkAdminKey(basicPassword(ctx.get('Authorization')), deps.adminApiKey);
    if (check === 'valid') return deps.perAdmin(ctx, async () => {
      await dashboardLogin(deps.audit, ctx, null);
      await serve(ctx, next);
    });
    return deps.perIp(ctx, async () => {
      if (check === 'missing') throw new AppError(401, 'ADMIN_KEY_REQUIRED', 'Admin credentials required', { headers: CHALLENGE });
      await deps.authFailures.fail(ctx.ip, new AppError(401, 'INVALID_ADMIN_KEY', 'Invalid admin credentials', { headers: CHALLENGE })).catch(async (err: unknown) => {
        await dashboardLogin(deps.audit, ctx, err);
        throw err;
      });
    });
  };
}
