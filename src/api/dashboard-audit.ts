import type { Context } from 'koa';
import type { AuditRecorder } from '../audit/actions';
import { toAppError } from './middleware/error-handler';
import { requestFacts } from './audit-route';

/**
 * Basic auth sends the password with every request of the dashboard (its page, its polling API calls, its
 * assets), so a successful login is a page load: a GET outside `api/` and `static/`. Every wrong password is
 * a failed login (the per-IP limit bounds how many). The password is never recorded, nor the user name sent.
 */
const isPageLoad = (ctx: Context): boolean => ctx.method === 'GET' && !/\/admin\/queues\/(api|static)\//.test(ctx.path);

export async function dashboardLogin(audit: AuditRecorder | undefined, ctx: Context, failure: unknown): Promise<void> {
  if (!audit) return;
  if (failure === null && !isPageLoad(ctx)) return;
  const failed = failure !== null;
  await audit.record({
    action: 'dashboard.login',
    actor: failed ? 'anonymous' : 'admin',
    ...requestFacts(ctx),
    target: 'dashboard',
    outcome: failed ? 'failure' : 'success',
    outcomeCode: failed ? toAppError(failure).code : null,
    httpStatus: failed ? toAppError(failure).status : null,
    details: { path: ctx.path.slice(0, 200) },
  });
}
