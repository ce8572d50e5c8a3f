import { AppError } from '../shared/errors';
import type Joi from 'joi';
import { loadSampleBillingData } from '../pipelines/sample-billing';
import type { SampleLoadResult } from '../pipelines/sample-billing';
import { issueKey, revokeKey, rotateBodySchema, rotateKey } from './api-key-service';
import type { IssuedKey, RevokedKey, RotatedKey } from './api-key-service';
import { bootstrapCentral } from './bootstrap';
import type { BootstrapResult } from './bootstrap';
import { dryRunOnboarding, onboardBodySchema, onboardTenant } from './onboarding';
import type { DryRunResult, OnboardingFaults, OnboardResult } from './onboarding';
import { reloadProfileCache } from './profile-loader';
import { deleteProvider, getProvider, providerBodySchema, putProvider } from './provider-settings';
import type { ProviderView } from './provider-settings';
import { getQuotaView } from './quota-view';
import type { QuotaView } from './quota-view';
import { getTenant, tenantDeleted, updateTenant, updateTenantBodySchema } from './tenant-admin';
import type { TenantView } from './tenant-admin';
import type { TenantDeps } from './tenant-deps';
import type { Seats } from './seats';
import { assertNotBeingOffboarded } from './offboarding-guard';

/** The sample-data request after validation (the admin route's joi schema fills the defaults). */
export interface SampleDataRequest {
  days: number;
  rows_per_day: number;
  seed: number;
  /** Last usage day loaded (YYYY-MM-DD, UTC); default yesterday. */
  end_date?: string;
  /** Keep the rows already there instead of recreating the table. */
  append: boolean;
}

/**
 * What the HTTP layer does with tenants: onboarding, keys, plans, providers, quotas. Bodies arrive as the
 * route's joi schema left them; each operation validates its own body again (the services are callable alone).
 */
export interface TenantOperations {
  onboardSchema: Joi.ObjectSchema;
  updateSchema: Joi.ObjectSchema;
  providerSchema: Joi.ObjectSchema;
  rotateSchema: Joi.ObjectSchema;
  onboard(body: unknown): Promise<OnboardResult>;
  dryRun(body: unknown): Promise<DryRunResult>;
  get(tenantId: string): Promise<TenantView>;
  quota(tenantId: string): Promise<QuotaView>;
  update(tenantId: string, patch: unknown): Promise<TenantView>;
  issueKey(tenantId: string): Promise<IssuedKey>;
  revokeKey(keyId: string): Promise<RevokedKey>;
  rotateKey(tenantId: string, currentKeyId: string, graceSeconds: number): Promise<RotatedKey>;
  putProvider(tenantId: string, provider: string, body: unknown): Promise<ProviderView>;
  getProvider(tenantId: string, provider: string): Promise<ProviderView>;
  deleteProvider(tenantId: string, provider: string): Promise<void>;
  bootstrap(): Promise<BootstrapResult>;
  loadSampleData?(tenantId: string, options: SampleDataRequest): Promise<SampleLoadResult>;
}

export function tenantOperations(deps: TenantDeps, seats: Seats, faults?: OnboardingFaults): TenantOperations {
  const onboardingDeps = faults ? { ...deps, faults } : deps;
  const exists = async (tenantId: string): Promise<void> => {
    const tenant = await getTenant(deps, tenantId); // 404 TENANT_NOT_FOUND
    if (tenant.status === 'DELETED') throw tenantDeleted(tenantId);
  };
  return {
    onboardSchema: onboardBodySchema,
    updateSchema: updateTenantBodySchema,
    providerSchema: providerBodySchema,
    rotateSchema: rotateBodySchema,
    onboard: async (body) => {
      const tenantId = (body as { tenant_id?: unknown } | null)?.tenant_id;
      if (typeof tenantId === 'string') await assertNotBeingOffboarded(deps.warehouse, tenantId);
      return onboardTenant(onboardingDeps, body);
    },
    dryRun: (body) => dryRunOnboarding(deps, body),
    get: (tenantId) => getTenant(deps, tenantId),
    quota: async (tenantId) => {
      let view = await getQuotaView(deps, tenantId);
      if (!view && (await reloadProfileCache(deps, tenantId))) view = await getQuotaView(deps, tenantId);
      if (!view) throw new AppError(404, 'TENANT_NOT_FOUND', 'Tenant not found');
      return view;
    },
    update: async (tenantId, patch) => {
      await assertNotBeingOffboarded(deps.warehouse, tenantId);
      return updateTenant(deps, tenantId, patch);
    },
    issueKey: async (tenantId) => {
      await exists(tenantId);
      await assertNotBeingOffboarded(deps.warehouse, tenantId);
      return issueKey(deps, tenantId);
    },
    revokeKey: (keyId) => revokeKey(deps, keyId),
    rotateKey: (tenantId, keyId, grace) => rotateKey(deps, tenantId, keyId, grace),
    putProvider: (tenantId, provider, body) => putProvider(deps, tenantId, provider, body),
    getProvider: (tenantId, provider) => getProvider(deps, tenantId, provider),
    deleteProvider: async (tenantId, provider) => {
      await deleteProvider(deps, tenantId, provider);
      seats.forgetProvider(tenantId, provider);
    },
    bootstrap: () => bootstrapCentral(deps),
    loadSampleData: async (tenantId, options) => {
      await exists(tenantId);
      return loadSampleBillingData(deps.warehouse, tenantId, {
        days: options.days,
        rowsPerDay: options.rows_per_day,
        seed: options.seed,
        append: options.append === true,
        ...(options.end_date ? { endDate: options.end_date } : {}),
        now: deps.clock.now(),
      });
    },
  };
}
