import { AppError } from '../shared/errors';
import { utcDay } from '../shared/clock';
import { newId } from '../shared/ids';
import { generateApiKey, hashApiKey, keyPrefix } from '../security/api-keys';
import { tenantDataset } from '../warehouse/tenant-dataset';
import { createTenantDataset, removeCreated } from './bootstrap';
import type { TenantDatasetResult } from './bootstrap';
import { deleteApiKeyCache, deleteProfileCache, writeApiKeyCache, writeProfileCache } from './profile-cache';
import { reloadProfileCache } from './profile-loader';
import * as store from './tenant-store';
import type { Plan } from './plans';
import type { TenantDeps } from './tenant-deps';
import { validateOnboardRequest } from './onboarding-schema';
import type { ValidOnboardRequest } from './onboarding-schema';
import { tryLock } from '../redis/lock';
import type { HeldLock } from '../redis/lock';

/**
 * Onboarding (SPEC §5, guide §2): profile → API key → subscription → today's usage row → dataset
 * `{tenant_id}` with its x_meta tables → Redis caches → activation. All or nothing: a failing step triggers the
 * removal of everything this call created, then 500 ONBOARDING_FAILED naming the step.
 *
 * A process can stop for good mid-way (a deploy's SIGKILL, a crash), so the rollback cannot be the only way back:
 * the new key is encrypted (Cloud KMS: a network call that may not answer) before any row is written, the
 * profile is written as ONBOARDING and only the last step makes it ACTIVE — no reader takes it for a tenant before
 * — and an onboarding of the same id that finds such a profile once the lock is free (its holder is gone: the lock
 * is renewed before every step) removes what is left of it and onboards afresh.
 *
 * Force flags on an EXISTING tenant repair its infrastructure only: the dataset (force_recreate_dataset)
 * or the meta tables (force_recreate_tables) are recreated; profile, subscription and keys are kept and
 * no new key is issued (`api_key: null`), because silently replacing a working key would lock the
 * tenant out. Without a force flag an existing tenant gets 409 TENANT_EXISTS.
 */

export const ONBOARDING_STEPS = ['profile', 'api_key', 'subscription', 'usage_quota', 'dataset', 'cache', 'activate'] as const;
export type OnboardingStep = (typeof ONBOARDING_STEPS)[number];

export interface OnboardResult {
  tenant_id: string;
  /** Shown once; null when force flags repaired an existing tenant (its keys are unchanged). */
  api_key: string | null;
  subscription_plan: string;
  dataset_created: boolean;
  tables_created: string[];
  message: string;
}

/** Test hooks: throwing from one makes that step fail (before it acts, or after it acted). */
export interface OnboardingFaults {
  beforeStep?: (step: OnboardingStep) => void | Promise<void>;
  afterStep?: (step: OnboardingStep) => void | Promise<void>;
}

export type OnboardingDeps = TenantDeps & { faults?: OnboardingFaults };

const LOCK_TTL_MS = 120_000;

export async function onboardTenant(deps: OnboardingDeps, body: unknown): Promise<OnboardResult> {
  const { req, plan } = validateOnboardRequest(deps, body);
  const tenantId = req.tenant_id;
  // 422 RESERVED_TENANT_ID before anything is written: platform datasets and engine catalogs are never a tenant's.
  await tenantDataset(deps.warehouse, tenantId);
  // Two concurrent onboardings of one id would both see "no profile"; the lock makes the check-then-create safe.
  const locked = await tryLock(deps.redis, deps.keys.lock(`onboard:${tenantId}`), LOCK_TTL_MS);
  if (!locked) throw new AppError(409, 'TENANT_EXISTS', `Onboarding of tenant '${tenantId}' is already in progress`);
  try {
    const found = await store.readProfileForOnboarding(deps.warehouse, tenantId);
    const existing = found && !found.unfinished ? found.profile : null;
    if (existing?.status === 'DELETED') {
      // An offboarded id stays retired, force flags or not: a new tenant must never inherit its tombstone.
      throw new AppError(409, 'TENANT_DELETED', `Tenant '${tenantId}' was offboarded; its id cannot be used again`);
    }
    if (existing) {
      if (!req.force_recreate_dataset && !req.force_recreate_tables) {
        throw new AppError(409, 'TENANT_EXISTS', `Tenant '${tenantId}' already exists`);
      }
      return await repairExisting(deps, req, existing.subscriptionPlan);
    }
    if (found?.unfinished) await removeUnfinished(deps, tenantId);
    return await createNew(deps, req, plan, locked);
  } finally {
    await locked.release();
  }
}

interface Created {
  profile?: true;
  apiKey?: { keyId: string; keyHash: string };
  subscription?: true;
  usageDate?: string;
  dataset?: TenantDatasetResult;
  cache?: true;
}

async function createNew(deps: OnboardingDeps, req: ValidOnboardRequest, plan: Plan, lock: HeldLock): Promise<OnboardResult> {
  const { warehouse, clock } = deps;
  const tenantId = req.tenant_id;
  const now = clock.now();
  const nowIso = now.toISOString();
  const created: Created = {};
  const apiKey = generateApiKey(tenantId);
  const keyHash = hashApiKey(apiKey);
  const keyId = newId();
  const usageDate = utcDay(now);
  let dataset: TenantDatasetResult = { datasetCreated: false, tablesCreated: [] };
  const failed = (step: OnboardingStep, err: unknown): AppError => {
    deps.logger.error({ err, tenant_id: tenantId, step }, 'onboarding failed; rolling back');
    return new AppError(500, 'ONBOARDING_FAILED', `Onboarding failed at step '${step}'; nothing was created`, { expose: true, cause: err, extra: { step } });
  };

  // Before any row: a key manager that fails or does not answer (Cloud KMS) leaves nothing to undo.
  let encryptedKey: Buffer;
  try {
    encryptedKey = await deps.keyManager.encrypt(Buffer.from(apiKey, 'utf8'));
  } catch (err) {
    throw failed('api_key', err);
  }

  const steps: [OnboardingStep, () => Promise<void>][] = [
    ['profile', async () => {
      created.profile = true;
      await store.writeProfile(warehouse, {
        tenantId, companyName: req.company_name, adminEmail: req.admin_email, status: store.ONBOARDING_STATUS,
        subscriptionPlan: plan.name, createdAt: nowIso, updatedAt: nowIso,
      }, now, 'dml');
    }],
    ['api_key', async () => {
      created.apiKey = { keyId, keyHash };
      await store.writeApiKey(warehouse, {
        keyId, tenantId, keyHash, encryptedKey, keyPrefix: keyPrefix(apiKey), isActive: true,
        expiresAt: null, createdAt: nowIso, revokedAt: null, lastUsedAt: null,
      }, now, 'dml');
    }],
    ['subscription', async () => {
      created.subscription = true;
      await store.writeSubscription(warehouse, {
        tenantId, planName: plan.name, status: 'ACTIVE', dailyLimit: plan.dailyLimit, monthlyLimit: plan.monthlyLimit,
        concurrentLimit: plan.concurrentLimit, teamLimit: plan.teamLimit, providerLimit: plan.providerLimit,
        createdAt: nowIso, updatedAt: nowIso,
      }, now, 'dml');
    }],
    ['usage_quota', async () => {
      created.usageDate = usageDate;
      await store.writeInitialUsage(warehouse, {
        tenantId, usageDate, dailyLimit: plan.dailyLimit, monthlyLimit: plan.monthlyLimit, concurrentLimit: plan.concurrentLimit,
      }, now, 'dml');
    }],
    ['dataset', async () => {
      dataset = await createTenantDataset(deps, tenantId, {
        forceRecreateDataset: req.force_recreate_dataset,
        forceRecreateTables: req.force_recreate_tables,
      });
      created.dataset = dataset;
    }],
    ['cache', async () => {
      created.cache = true;
      await writeProfileCache(deps.redis, deps.keys, tenantId, {
        status: 'ACTIVE', plan: plan.name, dailyLimit: plan.dailyLimit, monthlyLimit: plan.monthlyLimit,
        concurrentLimit: plan.concurrentLimit, teamLimit: plan.teamLimit, providerLimit: plan.providerLimit,
        maxBytesBilledPerQuery: plan.maxBytesBilledPerQuery, dailyBytesBudget: plan.dailyBytesBudget,
        companyName: req.company_name, adminEmail: req.admin_email, createdAt: nowIso,
      });
      await writeApiKeyCache(deps.redis, deps.keys, keyHash, { tenantId, keyId, active: true, expiresAtMs: null });
      await deps.redis.sadd(deps.keys.tenantIndex(), tenantId);
    }],
    ['activate', () => store.activateProfile(warehouse, tenantId)],
  ];

  for (const [step, run] of steps) {
    try {
      await deps.faults?.beforeStep?.(step);
      // Checked right before each write: a call that outlasted its lock (a step slower than LOCK_TTL_MS) may have
      // been taken for dead, and another onboarding of the id may have cleaned up after it and finished since.
      if (!(await lock.renew())) throw new LockLost();
      await run();
      await deps.faults?.afterStep?.(step);
    } catch (err) {
      // Lost meanwhile: the tenant's rows now belong to the call that took over; only this call's own key goes.
      if (err instanceof LockLost || !(await lock.renew().catch(() => false))) {
        await store.deleteApiKeyRows(warehouse, keyId).catch(() => undefined);
        await deleteApiKeyCache(deps.redis, deps.keys, keyHash).catch(() => undefined);
        throw takenOver(tenantId, step, err);
      }
      const error = failed(step, err);
      await rollback(deps, tenantId, created);
      throw error;
    }
  }

  deps.logger.info({ tenant_id: tenantId, plan: plan.name, key_id: keyId }, 'tenant onboarded');
  return {
    tenant_id: tenantId,
    api_key: apiKey,
    subscription_plan: plan.name,
    dataset_created: dataset.datasetCreated,
    tables_created: dataset.tablesCreated,
    message: `Tenant ${tenantId} onboarded on plan ${plan.name}. Store the API key securely: it is shown only once.`,
  };
}

class LockLost extends Error {
  override readonly name = 'LockLost';
}

/**
 * An onboarding that lost its lock mid-way: another onboarding of the id took over (it found this one's rows and
 * removed them, or onboarded the tenant since), so this call writes and rolls back nothing more.
 */
function takenOver(tenantId: string, step: OnboardingStep, cause: unknown): AppError {
  const failedStep = cause instanceof LockLost ? '' : ` (step '${step}' failed meanwhile)`;
  return new AppError(500, 'ONBOARDING_FAILED', `Onboarding of tenant '${tenantId}' outlasted its lock and another onboarding of the id took over${failedStep}; this call changed nothing more`, {
    expose: true,
    cause,
    extra: { step },
  });
}

/** Undoes, newest first, whatever `created` records; keeps going past individual failures. */
async function rollback(deps: OnboardingDeps, tenantId: string, created: Created): Promise<void> {
  const undo: [string, () => Promise<void>][] = [];
  if (created.cache) {
    undo.push(['cache', async () => {
      await deleteProfileCache(deps.redis, deps.keys, tenantId);
      if (created.apiKey) await deleteApiKeyCache(deps.redis, deps.keys, created.apiKey.keyHash);
      await deps.authChanges?.tenantChanged(tenantId);
      await deps.redis.srem(deps.keys.tenantIndex(), tenantId);
    }]);
  }
  const dataset = created.dataset;
  if (dataset) undo.push(['dataset', () => removeCreated(deps.warehouse, tenantId, dataset)]);
  const usageDate = created.usageDate;
  if (usageDate) undo.push(['usage_quota', () => store.deleteUsageRows(deps.warehouse, tenantId, usageDate)]);
  if (created.subscription) undo.push(['subscription', () => store.deleteSubscriptionRows(deps.warehouse, tenantId)]);
  const apiKey = created.apiKey;
  if (apiKey) undo.push(['api_key', () => store.deleteApiKeyRows(deps.warehouse, apiKey.keyId)]);
  if (created.profile) undo.push(['profile', () => store.deleteProfileRows(deps.warehouse, tenantId)]);
  for (const [step, run] of undo) {
    try {
      await run();
    } catch (err) {
      deps.logger.error({ err, tenant_id: tenantId, step }, 'onboarding rollback step failed; manual cleanup needed');
    }
  }
}

/**
 * What an onboarding whose process stopped before its last step left of `tenantId` (its profile is still
 * ONBOARDING): caches, key, subscription and usage rows, profile — newest first, so a failure here leaves the
 * profile for the next attempt. The dataset stays: creating it again is idempotent, and it may hold more than
 * the stopped call made.
 */
async function removeUnfinished(deps: OnboardingDeps, tenantId: string): Promise<void> {
  deps.logger.warn({ tenant_id: tenantId }, 'removing what an onboarding that did not finish left behind');
  const keys = await store.readApiKeysOfTenant(deps.warehouse, tenantId);
  for (const key of keys) await deleteApiKeyCache(deps.redis, deps.keys, key.keyHash);
  await deleteProfileCache(deps.redis, deps.keys, tenantId);
  await deps.authChanges?.tenantChanged(tenantId);
  await deps.redis.srem(deps.keys.tenantIndex(), tenantId);
  await store.deleteUsageRowsOfTenant(deps.warehouse, tenantId);
  await store.deleteSubscriptionRows(deps.warehouse, tenantId);
  await store.deleteApiKeyRowsOfTenant(deps.warehouse, tenantId);
  await store.deleteProfileRows(deps.warehouse, tenantId);
}

async function repairExisting(deps: OnboardingDeps, req: ValidOnboardRequest, currentPlan: string): Promise<OnboardResult> {
  const tenantId = req.tenant_id;
  let dataset: TenantDatasetResult;
  try {
    await deps.faults?.beforeStep?.('dataset');
    dataset = await createTenantDataset(deps, tenantId, {
      forceRecreateDataset: req.force_recreate_dataset,
      forceRecreateTables: req.force_recreate_tables,
    });
    await deps.faults?.afterStep?.('dataset');
  } catch (err) {
    deps.logger.error({ err, tenant_id: tenantId, step: 'dataset' }, 're-onboarding failed');
    throw new AppError(500, 'ONBOARDING_FAILED', `Onboarding failed at step 'dataset'`, { expose: true, cause: err, extra: { step: 'dataset' } });
  }
  await reloadProfileCache(deps, tenantId);
  await deps.redis.sadd(deps.keys.tenantIndex(), tenantId);
  deps.logger.info({ tenant_id: tenantId, dataset_created: dataset.datasetCreated }, 'tenant infrastructure recreated');
  return {
    tenant_id: tenantId,
    api_key: null,
    subscription_plan: currentPlan,
    dataset_created: dataset.datasetCreated,
    tables_created: dataset.tablesCreated,
    message: `Tenant ${tenantId} already exists: its dataset and tables were recreated as requested; existing API keys are unchanged.`,
  };
}

export { onboardBodySchema, validateOnboardRequest } from './onboarding-schema';
export type { OnboardRequest } from './onboarding-schema';
export { dryRunOnboarding, dryRunBodySchema } from './onboarding-dry-run';
export type { DryRunResult, DryRunCheck } from './onboarding-dry-run';
