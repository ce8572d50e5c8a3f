/**
 * Team-member and provider seats as the request path uses them: the atomic limit check in Redis,
 * skipped for seats this process confirmed a moment ago (see src/tenants/recent-touches.ts).
 */
export interface Seats {
  /** Throws 403 PROVIDER_LIMIT_REACHED for a new provider beyond the plan. */
  provider(tenantId: string, provider: string): Promise<void>;
  /** Throws 403 TEAM_LIMIT_REACHED for a new X-User-ID beyond the plan. */
  member(tenantId: string, userId: string): Promise<void>;
  /** Drops this process's memory of a provider seat (its settings were deleted). */
  forgetProvider(tenantId: string, provider: string): void;
}
