import { AppError } from '../../shared/errors';
import { nextUtcMidnight } from '../../shared/clock';

/**
 * The one table of the negative codes every Lua script returns, and the one place they become errors.
 * A script's header says which of these it can return. -1 (profile missing) is not an error: callers
 * reload the profile and retry. The run scripts' codes come with the status the run had.
 */
export const SCRIPT_CODES = {
  /** admit, team-touch, provider-touch: the tenant's profile is not in Redis. */
  profileMissing: -1,
  /** admit: the tenant is suspended. */
  suspended: -2,
  daily: -3,
  monthly: -4,
  concurrent: -5,
  /** team-touch, admit: a new member beyond the plan's team size. */
  team: -6,
  /** provider-touch, admit: a new provider beyond the plan's limit. */
  provider: -7,
  /** run-start, run-cancel: the run is already COMPLETED, FAILED or CANCELLED. */
  runFinished: -8,
  /** run-start, run-cancel: no such run in Redis. */
  runMissing: -9,
  /** run-start: a cancel was requested before the run started. */
  runCancelRequested: -10,
  /** bytes-reserve: the job's estimate is over the plan's max_bytes_billed_per_query. */
  bytesOverQueryCap: -11,
  /** bytes-reserve: the job's estimate is over what is left of the daily bytes budget. */
  bytesOverDailyBudget: -12,
  /** bytes-settle: no such reservation (settled already, or its lease passed). */
  bytesReservationUnknown: -13,
  /** backfill-create: the tenant already holds its plan's backfill_max_active ACTIVE backfills. */
  backfillLimit: -14,
  /** webhook-attempt: the endpoint was deleted (or its tenant offboarded) while the attempt was in flight. */
  webhookGone: -15,
} as const;

export const DAILY_QUOTA_DETAIL = 'Daily pipeline quota exceeded. Upgrade or wait until tomorrow.';
export const MONTHLY_QUOTA_DETAIL = 'Monthly pipeline quota exceeded. Upgrade or wait until next month.';
export const CONCURRENT_LIMIT_DETAIL = 'Concurrent pipeline limit reached. Wait for running pipelines to complete.';
/** A slot frees when some run ends; clients have no better hint than polling at this pace. */
export const CONCURRENT_RETRY_AFTER_SECONDS = 30;

const secondsUntil = (from: Date, to: Date): number => Math.max(1, Math.ceil((to.getTime() - from.getTime()) / 1000));

/** Start of the next UTC month after `date`. */
export const nextUtcMonth = (date: Date): Date => new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1));

const tooMany = (code: 'DAILY_QUOTA_EXCEEDED' | 'MONTHLY_QUOTA_EXCEEDED' | 'CONCURRENT_LIMIT_REACHED', detail: string, retryAfterSeconds: number): AppError =>
  new AppError(429, code, detail, { headers: { 'Retry-After': String(retryAfterSeconds) } });

export const runAlreadyFinished = (status: string): AppError =>
  new AppError(409, 'RUN_ALREADY_FINISHED', `Run already finished with status ${status}`, { extra: { status } });

/** The error for a script's negative code; `status` is the run status a run script returned with it. */
export function scriptError(code: number, context: { now: Date; status?: string }): AppError {
  const { now } = context;
  switch (code) {
    case SCRIPT_CODES.suspended:
      // Same answer as an unknown key: a suspended tenant learns nothing more from the trigger path.
      return new AppError(401, 'INVALID_API_KEY', 'Invalid or missing API key');
    case SCRIPT_CODES.daily:
      return tooMany('DAILY_QUOTA_EXCEEDED', DAILY_QUOTA_DETAIL, secondsUntil(now, nextUtcMidnight(now)));
    case SCRIPT_CODES.monthly:
      return tooMany('MONTHLY_QUOTA_EXCEEDED', MONTHLY_QUOTA_DETAIL, secondsUntil(now, nextUtcMonth(now)));
    case SCRIPT_CODES.concurrent:
      return tooMany('CONCURRENT_LIMIT_REACHED', CONCURRENT_LIMIT_DETAIL, CONCURRENT_RETRY_AFTER_SECONDS);
    case SCRIPT_CODES.team:
      return new AppError(403, 'TEAM_LIMIT_REACHED', "Team member limit reached for this tenant's plan. Upgrade to add more users.");
    case SCRIPT_CODES.provider:
      return new AppError(403, 'PROVIDER_LIMIT_REACHED', "Provider limit reached for this tenant's plan. Upgrade to add more providers.");
    case SCRIPT_CODES.backfillLimit:
      // No Retry-After: a slot frees when one of the tenant's backfills ends or is cancelled, which may take days.
      return new AppError(429, 'BACKFILL_LIMIT_REACHED', "Active backfill limit reached for this tenant's plan. Wait for one to finish, or cancel one.");
    case SCRIPT_CODES.runFinished:
      return runAlreadyFinished(context.status ?? 'unknown');
    case SCRIPT_CODES.runMissing:
      return new AppError(404, 'RUN_NOT_FOUND', 'Pipeline run not found');
    default:
      return new AppError(500, 'INTERNAL_ERROR', `Unexpected script result ${code}`, { expose: false });
  }
}
