import Joi from 'joi';
import { AppError, notFound, validationError } from '../shared/errors';
import { reloadProfileCache } from './profile-loader';
import type { TenantStatus } from './profile-cache';
import { readProfile, readSubscription, writeProfile, writeSubscription } from './tenant-store';
import type { ProfileRecord, SubscriptionRecord } from './tenant-store';
import type { TenantDeps } from './tenant-deps';

/** Reading and changing a tenant (admin PATCH, tenant GET). Provider settings: provider-settings.ts. */

export interface TenantView {
  tenant_id: string;
  company_name: string;
  admin_email: string;
  status: TenantStatus;
  subscription_plan: string;
  created_at: string;
  updated_at: string;
  subscription: {
    plan_name: string;
    status: string;
    daily_limit: number;
    monthly_limit: number;
    concurrent_limit: number;
    team_limit: number;
    provider_limit: number;
    created_at: string;
    updated_at: string;
  } | null;
}

export const updateTenantBodySchema = Joi.object({
  subscription_plan: Joi.string().trim().pattern(/^[A-Za-z][A-Za-z0-9_]*$/).uppercase()
    .description('New plan, case-insensitive; its limits apply from the next trigger'),
  status: Joi.string().trim().uppercase().valid('ACTIVE', 'SUSPENDED')
    .description('SUSPENDED: the tenant\'s keys are refused and no run is admitted'),
}).or('subscription_plan', 'status').label('UpdateTenantRequest');

export interface UpdateTenantRequest {
  subscription_plan?: string;
  status?: TenantStatus;
}

/** Profile and subscription, never a key or credential. 404 TENANT_NOT_FOUND. */
export async function getTenant(deps: TenantDeps, tenantId: string): Promise<TenantView> {
  const [profile, subscription] = await Promise.all([readProfile(deps.warehouse, tenantId), readSubscription(deps.warehouse, tenantId)]);
  if (!profile) throw tenantNotFound(tenantId);
  return toView(profile, subscription);
}

/**
 * Changes plan and/or status: new profile and subscription snapshots in the warehouse, then the
 * Redis profile is rebuilt so the next trigger and the next authentication obey the change.
 */
export async function updateTenant(deps: TenantDeps, tenantId: string, body: unknown): Promise<TenantView> {
  const { value, error } = updateTenantBodySchema.validate(body, { abortEarly: false, stripUnknown: true });
  if (error) throw validationError(error.details.map((d) => ({ field: d.path.join('.') || 'body', message: d.message })));
  const changes = value as UpdateTenantRequest;
  const plan = changes.subscription_plan === undefined ? undefined : deps.plans.get(changes.subscription_plan);
  if (changes.subscription_plan !== undefined && !plan) {
    throw validationError([{ field: 'subscription_plan', message: `Unknown plan '${changes.subscription_plan}'; known: ${deps.plans.names().join(', ')}` }]);
  }
  const [profile, subscription] = await Promise.all([readProfile(deps.warehouse, tenantId), readSubscription(deps.warehouse, tenantId)]);
  if (!profile) throw tenantNotFound(tenantId);
  if (profile.status === 'DELETED') throw tenantDeleted(tenantId);

  const now = deps.clock.now();
  const nowIso = now.toISOString();
  const status = changes.status ?? profile.status;
  const nextProfile: ProfileRecord = { ...profile, status, subscriptionPlan: plan?.name ?? profile.subscriptionPlan, updatedAt: nowIso };
  const basePlan = plan ?? deps.plans.get(subscription?.planName ?? profile.subscriptionPlan) ?? deps.plans.defaultPlan;
  const nextSubscription: SubscriptionRecord = plan || !subscription
    ? {
        tenantId, planName: basePlan.name, status, dailyLimit: basePlan.dailyLimit, monthlyLimit: basePlan.monthlyLimit,
        concurrentLimit: basePlan.concurrentLimit, teamLimit: basePlan.teamLimit, providerLimit: basePlan.providerLimit,
        createdAt: subscription?.createdAt ?? nowIso, updatedAt: nowIso,
      }
    : { ...subscription, status, updatedAt: nowIso };

  await writeProfile(deps.warehouse, nextProfile, now);
  await writeSubscription(deps.warehouse, nextSubscription, now);
  await reloadProfileCache(deps, tenantId);
  deps.logger.info({ tenant_id: tenantId, plan: nextProfile.subscriptionPlan, status }, 'tenant updated');
  return toView(nextProfile, nextSubscription);
}

function toView(p: ProfileRecord, s: SubscriptionRecord | null): TenantView {
  return {
    tenant_id: p.tenantId,
    company_name: p.companyName,
    admin_email: p.adminEmail,
    status: p.status,
    subscription_plan: p.subscriptionPlan,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
    subscription: s
      ? {
          plan_name: s.planName,
          status: s.status,
          daily_limit: s.dailyLimit,
          monthly_limit: s.monthlyLimit,
          concurrent_limit: s.concurrentLimit,
          team_limit: s.teamLimit,
          provider_limit: s.providerLimit,
          created_at: s.createdAt,
          updated_at: s.updatedAt,
        }
      : null,
  };
}

export const tenantNotFound = (tenantId: string) => notFound('TENANT_NOT_FOUND', `Tenant '${tenantId}' not found`);
/** An offboarded tenant: its profile stays as a tombstone, and nothing may bring it back (409, never a silent 200). */
export const tenantDeleted = (tenantId: string) => new AppError(409, 'TENANT_DELETED', `Tenant '${tenantId}' was offboarded; its id cannot be used again`);

export { putProvider, getProvider, deleteProvider, readProviderCredentials, providerBodySchema } from './provider-settings';
export type { ProviderView, PutProviderRequest } from './provider-settings';
