import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import type { Warehouse } from '../warehouse/types';
import { deleteProfileCache, writeProfileCache } from './profile-cache';
import type { CachedProfile } from './profile-cache';
import type { AuthChanges } from './auth-invalidation';
import type { PlanCatalog } from './plans';
import { readProfile, readSubscription } from './tenant-store';

/**
 * Rebuilds a tenant's Redis profile from the warehouse (profile + subscription). Called when the
 * cache is missing (Redis restart, admission answered `profile_missing`) and after every change.
 * Returns null, and removes any stale copy, when the tenant does not exist or is an offboarded tombstone
 * (DELETED: never written to Redis, so no tenant key comes back after offboarding deleted them). Either way the API
 * processes' auth caches forget the tenant's keys (a status change must refuse them at once).
 */
export async function reloadProfileCache(
  deps: { warehouse: Warehouse; redis: RedisClient; keys: RedisKeys; plans: PlanCatalog; authChanges?: AuthChanges },
  tenantId: string,
): Promise<CachedProfile | null> {
  const [profile, subscription] = await Promise.all([readProfile(deps.warehouse, tenantId), readSubscription(deps.warehouse, tenantId)]);
  if (!profile || profile.status === 'DELETED') {
    await deleteProfileCache(deps.redis, deps.keys, tenantId);
    await deps.authChanges?.tenantChanged(tenantId);
    return null;
  }
  // The subscription row carries the limits granted; the plan catalog is only the fallback.
  const plan = deps.plans.get(subscription?.planName ?? profile.subscriptionPlan) ?? deps.plans.defaultPlan;
  const cached: CachedProfile = {
    status: profile.status,
    plan: subscription?.planName ?? plan.name,
    dailyLimit: subscription?.dailyLimit ?? plan.dailyLimit,
    monthlyLimit: subscription?.monthlyLimit ?? plan.monthlyLimit,
    concurrentLimit: subscription?.concurrentLimit ?? plan.concurrentLimit,
    teamLimit: subscription?.teamLimit ?? plan.teamLimit,
    providerLimit: subscription?.providerLimit ?? plan.providerLimit,
    maxBytesBilledPerQuery: plan.maxBytesBilledPerQuery,
    dailyBytesBudget: plan.dailyBytesBudget,
    companyName: profile.companyName,
    adminEmail: profile.adminEmail,
    createdAt: profile.createdAt,
  };
  await writeProfileCache(deps.redis, deps.keys, tenantId, cached);
  await deps.authChanges?.tenantChanged(tenantId);
  return cached;
}
