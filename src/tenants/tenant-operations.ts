import { AppError } from '../shared/errors';
import type { ApiDeps } from '../api/deps';
import { loadSampleBillingData } from '../pipelines/sample-billing';
import { issueKey, revokeKey, rotateKey } from './api-key-service';
import { bootstrapCentral } from './bootstrap';
import { dryRunOnboarding, onboardBodySchema, onboardTenant } from './onboarding';
import type { OnboardingFaults } from './onboarding';
import { reloadProfileCache } from './profile-loader';
import { deleteProvider, getProvider, providerBodySchema, putProvider } from './provider-settings';
import { getQuotaView } from './quota-view';
import { getTenant, updateTenant, updateTenantBodySchema } from './tenant-admin';
import type { TenantDeps } from './tenant-deps';
import type { Seats } from './seats';

type Json = Record<string, unknown>;
const json = <T>(value: T): Json => value as unknown as Json;

/** The tenant half of the HTTP layer's dependencies: onboarding, keys, plans, providers, quotas. */
export function tenantApi(deps: TenantDeps, seats: Seats, faults?: OnboardingFaults): ApiDeps['tenants'] {
  const onboardingDeps = faults ? { ...deps, faults } : deps;
  const exists = async (tenantId: string): Promise<void> => {
    await getTenant(deps, tenantId); // 404 TENANT_NOT_FOUND
  };
  return {
    onboardSchema: onboardBodySchema,
    updateSchema: updateTenantBodySchema,
    providerSchema: providerBodySchema,
    onboard: async (body) => json(await onboardTenant(onboardingDeps, body)),
    dryRun: async (body) => json(await dryRunOnboarding(deps, body)),
    get: async (tenantId) => json(await getTenant(deps, tenantId)),
    quota: async (tenantId) => {
      let view = await getQuotaView(deps, tenantId);
      if (!view && (await reloadProfileCache(deps, tenantId))) view = await getQuotaView(deps, tenantId);
      if (!view) throw new AppError(404, 'TENANT_NOT_FOUND', 'Tenant not found');
      return json(view);
    },
    update: async (tenantId, patch) => json(await updateTenant(deps, tenantId, patch)),
    issueKey: async (tenantId) => {
      await exists(tenantId);
      return json(await issueKey(deps, tenantId));
    },
    revokeKey: async (keyId) => json(await revokeKey(deps, keyId)),
    rotateKey: async (tenantId, keyId, grace) => json(await rotateKey(deps, tenantId, keyId, grace)),
    putProvider: async (tenantId, provider, body) => json(await putProvider(deps, tenantId, provider, body)),
    getProvider: async (tenantId, provider) => json(await getProvider(deps, tenantId, provider)),
    deleteProvider: async (tenantId, provider) => {
      await deleteProvider(deps, tenantId, provider);
      seats.forgetProvider(tenantId, provider);
    },
    bootstrap: async () => json(await bootstrapCentral(deps)),
    loadSampleData: async (tenantId, options) => {
      await exists(tenantId);
      return json(
        await loadSampleBillingData(deps.warehouse, tenantId, {
          days: Number(options.days),
          rowsPerDay: Number(options.rows_per_day),
          seed: Number(options.seed),
          now: deps.clock.now(),
        }),
      );
    },
  };
}
