import type { CachedProfile } from '../../src/tenants/profile-cache';

/** The guide's STARTER plan as the Redis profile cache holds it (daily 6, monthly 180, concurrent 3, team 2, providers 3). */
export const STARTER_PROFILE: CachedProfile = {
  status: 'ACTIVE',
  plan: 'STARTER',
  dailyLimit: 6,
  monthlyLimit: 180,
  concurrentLimit: 3,
  teamLimit: 2,
  providerLimit: 3,
  maxBytesBilledPerQuery: 10 * 1024 ** 3,
  dailyBytesBudget: 50 * 1024 ** 3,
  companyName: 'Acme',
  adminEmail: 'ops@acme.test',
  createdAt: '2025-03-01T00:00:00.000Z',
};
