import { randomBytes } from 'node:crypto';
import { isAppError } from '../shared/errors';
import { TENANT_ID_PATTERN } from '../shared/ids';
import { tenantDataset } from '../warehouse/tenant-dataset';
import { CENTRAL_DATASET, eventsTableName, tenantProfiles } from '../warehouse/tables';
import { onboardBodySchema } from './onboarding-schema';
import type { ValidOnboardRequest } from './onboarding-schema';
import { readProfile } from './tenant-store';
import type { TenantDeps } from './tenant-deps';

export interface DryRunCheck {
  name: string;
  passed: boolean;
  message: string;
}

export interface DryRunResult {
  ready_for_onboarding: boolean;
  checks: DryRunCheck[];
}

/** The dry run accepts the onboarding body; invalid fields become failed checks instead of a 422. */
export const dryRunBodySchema = onboardBodySchema;

/** Checks an onboarding request the way onboarding would, creating nothing (SPEC §3 POST /tenants/dryrun). */
export async function dryRunOnboarding(deps: TenantDeps, body: unknown): Promise<DryRunResult> {
  const checks: DryRunCheck[] = [];
  const add = (name: string, passed: boolean, message: string): void => void checks.push({ name, passed, message });

  const { value, error } = onboardBodySchema.validate(body, { abortEarly: false, stripUnknown: true });
  const input = (value ?? {}) as Partial<ValidOnboardRequest>;
  const fieldErrors = (error?.details ?? []).filter((d) => d.path[0] !== 'tenant_id' && d.path[0] !== 'subscription_plan');
  add('request_valid', fieldErrors.length === 0, fieldErrors.length === 0 ? 'Request fields are valid' : fieldErrors.map((d) => d.message).join('; '));

  const tenantId = typeof input.tenant_id === 'string' ? input.tenant_id : '';
  const formatValid = TENANT_ID_PATTERN.test(tenantId);
  add('tenant_id_format', formatValid, formatValid ? `tenant_id '${tenantId}' is valid` : 'tenant_id must be 3-50 characters of a-z, 0-9 and _');
  let idValid = formatValid;
  if (formatValid) {
    const problem = await tenantDataset(deps.warehouse, tenantId).then(
      () => null,
      (err: unknown) => (isAppError(err) ? err.message : 'tenant_id could not be checked against the warehouse catalogs'),
    );
    add('tenant_id_not_reserved', problem === null, problem ?? `tenant_id '${tenantId}' is not a reserved name`);
    idValid = problem === null;
  }

  const planName = typeof input.subscription_plan === 'string' ? input.subscription_plan : deps.plans.defaultPlan.name;
  const plan = deps.plans.get(planName);
  add('subscription_plan_known', plan !== undefined, plan ? `Plan ${plan.name}: ${plan.dailyLimit} runs/day, ${plan.concurrentLimit} concurrent` : `Unknown plan '${planName}'; known: ${deps.plans.names().join(', ')}`);

  const warehouseUp = await probe(() => deps.warehouse.ping());
  add('warehouse_reachable', warehouseUp === null, warehouseUp ?? `Warehouse (${deps.warehouse.kind}) answers`);

  const redisUp = await probe(async () => void (await deps.redis.ping()));
  add('redis_reachable', redisUp === null, redisUp ?? 'Redis answers');

  const keyManagerUp = await probe(async () => {
    const sample = randomBytes(16);
    if (!(await deps.keyManager.decrypt(await deps.keyManager.encrypt(sample))).equals(sample)) throw new Error('round trip mismatch');
  });
  add('key_manager_available', keyManagerUp === null, keyManagerUp ?? `Key manager (${deps.keyManager.kind}) encrypts and decrypts`);

  if (warehouseUp === null) {
    const bootstrapped = await deps.warehouse.tableExists({ dataset: CENTRAL_DATASET, table: eventsTableName(tenantProfiles) }).catch(() => false);
    add('central_tables_ready', bootstrapped, bootstrapped ? 'Central tables exist' : 'Central tables are missing: run POST /api/v1/admin/bootstrap');
    if (idValid && bootstrapped) {
      const force = input.force_recreate_dataset === true || input.force_recreate_tables === true;
      const profile = await readProfile(deps.warehouse, tenantId);
      const exists = profile !== null;
      if (profile?.status === 'DELETED') add('tenant_not_exists', false, `Tenant '${tenantId}' was offboarded; its id cannot be used again`);
      else add('tenant_not_exists', !exists || force, !exists ? `Tenant '${tenantId}' does not exist yet` : force ? `Tenant '${tenantId}' exists; force flags will recreate its dataset/tables only` : `Tenant '${tenantId}' already exists`);
      const datasetExists = await deps.warehouse.datasetExists(tenantId);
      add('dataset', true, !datasetExists ? `Dataset '${tenantId}' will be created` : input.force_recreate_dataset ? `Dataset '${tenantId}' exists and will be dropped and recreated` : `Dataset '${tenantId}' exists and will be reused`);
    }
  }

  return { ready_for_onboarding: checks.every((c) => c.passed), checks };
}

/** Runs a reachability probe; returns null when it worked, else a message without internals. */
async function probe(fn: () => Promise<void>): Promise<string | null> {
  try {
    await fn();
    return null;
  } catch (err) {
    return `Unavailable: ${err instanceof Error ? err.name : 'error'}`;
  }
}
