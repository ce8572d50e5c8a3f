import { AppError } from '../shared/errors';
import { nextUtcMidnight } from '../shared/clock';

/**
 * The one place where the negative return codes of the quota scripts (admit, team-touch,
 * provider-touch) become errors. -1 (profile missing) is not an error: callers reload and retry.
 */
export const SCRIPT_CODES = {
  profileMissing: -1,
  suspended: -2,
  daily: -3,
  monthly: -4,
  concurrent: -5,
  team: -6,
  provider: -7,
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

export function quotaRejection(code: number, now: Date): AppError {
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
    default:
      return new AppError(500, 'INTERNAL_ERROR', `Unexpected quota script result ${code}`, { expose: false });
  }
}
