import Joi from 'joi';
import { AppError, isAppError, notFound, validationError } from '../shared/errors';
import type { FieldError } from '../shared/errors';
import { PATH_SEGMENT_PATTERN } from '../shared/ids';
import { jsonBoundsProblem } from '../shared/json-bounds';
import type { JsonBounds } from '../shared/json-bounds';
import type { Warehouse } from '../warehouse/types';
import { CENTRAL_DATASET, tenantProviders } from '../warehouse/tables';
import { checkTenantProject, resolveTenantTable } from '../warehouse/tenant-table';
import type { ResolvedTable, TableScope } from '../warehouse/tenant-table';
import { reloadProfileCache } from './profile-loader';
import { bytes, iso, jsonObject, str } from './row-values';
import { TeamAndProviders } from './team-and-providers';
import { readProfile, write } from './tenant-store';
import type { TenantDeps } from './tenant-deps';

/**
 * Per-tenant provider settings (e.g. GCP billing export table and project) with optional
 * credentials. Credentials are encrypted with the key manager before they reach the warehouse and
 * are never returned by these functions; only workers read them, via readProviderCredentials.
 *
 * Settings that name warehouse objects are checked when stored (SPEC §3): every `*_table` key through
 * resolveTenantTable, every `project_id` / `*_project_id` key as a project the tenant may name. The
 * worker resolves the table again before a run, so a value stored before these checks cannot be used.
 */

export interface ProviderView {
  tenant_id: string;
  provider: string;
  settings: Record<string, unknown>;
  has_credentials: boolean;
  created_at: string;
  updated_at: string;
}

export interface PutProviderRequest {
  settings?: Record<string, unknown>;
  /** A service-account JSON object or a string secret; `null` removes stored credentials; absent keeps them. */
  credentials?: Record<string, unknown> | string | null;
}

const MAX_CREDENTIALS_BYTES = 64 * 1024;
/** Settings are a few names and ids; credentials a service-account JSON (two levels). Deeper or larger is refused (422). */
export const PROVIDER_JSON_BOUNDS: JsonBounds = { maxDepth: 16, maxBytes: 64 * 1024 };

const boundedObject = (): Joi.ObjectSchema => Joi.object().unknown(true)
  .custom((value: unknown, helpers) => {
    const problem = jsonBoundsProblem(value, PROVIDER_JSON_BOUNDS);
    return problem === null ? value : helpers.error('object.bounds', { problem });
  })
  .messages({ 'object.bounds': '{{#label}} {{#problem}}' });

export const providerBodySchema = Joi.object({
  settings: boundedObject().default({})
    .description('Provider settings, e.g. for gcp: {"billing_export_table": "{tenant_id}.table" (or, on BigQuery, "your-project.dataset.table"), "project_id": "…"}. '
      + 'Keys ending in _table must name a table of this tenant, project_id keys a GCP project other than the platform\'s (else 422 INVALID_TABLE_REFERENCE). '
      + `At most ${PROVIDER_JSON_BOUNDS.maxDepth} levels deep and ${PROVIDER_JSON_BOUNDS.maxBytes} bytes as JSON (else 422 VALIDATION_ERROR).`),
  credentials: Joi.alternatives(boundedObject(), Joi.string().min(1).max(MAX_CREDENTIALS_BYTES)).allow(null)
    .description(`Optional secret (e.g. service-account JSON), at most ${MAX_CREDENTIALS_BYTES} bytes. Stored encrypted, never returned.`),
}).label('ProviderSettingsRequest');

interface StoredProvider {
  settings: Record<string, unknown>;
  encryptedCredentials: Buffer | null;
  createdAt: string;
  updatedAt: string;
}

export async function putProvider(deps: TenantDeps, tenantId: string, providerName: string, body: unknown): Promise<ProviderView> {
  const provider = normalizeProvider(providerName);
  const { value, error } = providerBodySchema.validate(body, { abortEarly: false, stripUnknown: true });
  if (error) throw validationError(error.details.map((d) => ({ field: d.path.join('.') || 'body', message: d.message })));
  const req = value as PutProviderRequest;
  checkIdentifierSettings(deps.tableScope, tenantId, req.settings ?? {});
  const profile = await readProfile(deps.warehouse, tenantId);
  if (!profile || profile.status === 'DELETED') throw notFound('TENANT_NOT_FOUND', `Tenant '${tenantId}' not found`);

  const existing = await readStored(deps.warehouse, tenantId, provider);
  // A provider is a seat of the plan's provider limit, shared with the providers the tenant runs. A seat this call
  // added is given back when the call fails after taking it: a provider that was never stored holds no seat.
  const seatAdded = !existing && (await claimProviderSeat(deps, tenantId, provider));
  try {
    const stored = await storedFrom(deps, req, existing);
    await writeRow(deps.warehouse, tenantId, provider, stored, false, new Date(stored.updatedAt));
    deps.logger.info({ tenant_id: tenantId, provider, has_credentials: stored.encryptedCredentials !== null }, 'provider settings saved');
    return toView(tenantId, provider, stored);
  } catch (err) {
    if (seatAdded) await releaseProviderSeat(deps, tenantId, provider);
    throw err;
  }
}

/** The row to write: the request's settings, its credentials encrypted (absent: the stored ones kept). */
async function storedFrom(deps: TenantDeps, req: PutProviderRequest, existing: StoredProvider | null): Promise<StoredProvider> {
  let encryptedCredentials = existing?.encryptedCredentials ?? null;
  if (req.credentials === null) encryptedCredentials = null;
  else if (req.credentials !== undefined) {
    const secret = typeof req.credentials === 'string' ? req.credentials : JSON.stringify(req.credentials);
    if (Buffer.byteLength(secret) > MAX_CREDENTIALS_BYTES) {
      throw validationError([{ field: 'credentials', message: `must be at most ${MAX_CREDENTIALS_BYTES} bytes` }]);
    }
    encryptedCredentials = await deps.keyManager.encrypt(Buffer.from(secret, 'utf8'));
  }
  const now = deps.clock.now().toISOString();
  return { settings: req.settings ?? {}, encryptedCredentials, createdAt: existing?.createdAt ?? now, updatedAt: now };
}

export async function getProvider(deps: TenantDeps, tenantId: string, providerName: string): Promise<ProviderView> {
  const provider = normalizeProvider(providerName);
  const stored = await readStored(deps.warehouse, tenantId, provider);
  if (!stored) throw providerNotFound(tenantId, provider);
  return toView(tenantId, provider, stored);
}

/** Removes the settings (tombstone row) and frees the provider's seat. */
export async function deleteProvider(deps: TenantDeps, tenantId: string, providerName: string): Promise<void> {
  const provider = normalizeProvider(providerName);
  const stored = await readStored(deps.warehouse, tenantId, provider);
  if (!stored) throw providerNotFound(tenantId, provider);
  const now = deps.clock.now();
  await writeRow(deps.warehouse, tenantId, provider, { ...stored, encryptedCredentials: null, updatedAt: now.toISOString() }, true, now);
  await new TeamAndProviders(deps).forgetProvider(tenantId, provider);
  deps.logger.info({ tenant_id: tenantId, provider }, 'provider settings deleted');
}

/**
 * The billing export table of the tenant's gcp settings, resolved for this tenant (null when unset), for
 * the worker that renders a run. A stored value the resolver refuses — saved before settings were
 * checked, or written around the API — fails with a message that does not repeat it.
 */
export async function billingExportTable(deps: Pick<TenantDeps, 'warehouse' | 'tableScope'>, tenantId: string): Promise<ResolvedTable | null> {
  const raw = (await readStored(deps.warehouse, tenantId, 'gcp'))?.settings.billing_export_table;
  if (raw === undefined || raw === null || raw === '') return null;
  try {
    return resolveTenantTable(deps.tableScope, tenantId, raw);
  } catch (err) {
    if (!isAppError(err)) throw err;
    throw new AppError(422, 'INVALID_TABLE_REFERENCE',
      `The billing_export_table stored in the gcp provider settings is not a table this tenant may read (${err.errors?.[0]?.message ?? err.message}). ` +
      `Set it again with PUT /api/v1/tenants/${tenantId}/providers/gcp, or remove it to read ${tenantId}.gcp_billing_export_v1.`);
  }
}

/** Settings plus decrypted credentials, for the worker that runs a pipeline; null when not configured. */
export async function readProviderCredentials(
  deps: Pick<TenantDeps, 'warehouse' | 'keyManager'>,
  tenantId: string,
  providerName: string,
): Promise<{ settings: Record<string, unknown>; credentials: string | null } | null> {
  const stored = await readStored(deps.warehouse, tenantId, normalizeProvider(providerName));
  if (!stored) return null;
  const credentials = stored.encryptedCredentials ? (await deps.keyManager.decrypt(stored.encryptedCredentials)).toString('utf8') : null;
  return { settings: stored.settings, credentials };
}

/**
 * Takes the provider's seat (403 PROVIDER_LIMIT_REACHED beyond the plan); true when this call added it. The
 * check-and-add is provider-touch.lua, the script admission's provider check agrees with.
 */
async function claimProviderSeat(deps: TenantDeps, tenantId: string, provider: string): Promise<boolean> {
  const seats = new TeamAndProviders(deps);
  const first = await seats.touchProvider(tenantId, provider);
  if (first !== 'profile_missing') return first === 'added';
  if (!(await reloadProfileCache(deps, tenantId))) throw notFound('TENANT_NOT_FOUND', `Tenant '${tenantId}' not found`);
  const second = await seats.touchProvider(tenantId, provider);
  if (second === 'profile_missing') {
    throw new AppError(503, 'DEPENDENCY_UNAVAILABLE', 'Tenant profile cache is unavailable, retry shortly', { headers: { 'Retry-After': '1' } });
  }
  return second === 'added';
}

/**
 * Frees a seat this request added. A run of the same provider admitted in between keeps running without a seat,
 * and a concurrent PUT of the same provider may be stored without one; both are rare and err towards the tenant.
 */
async function releaseProviderSeat(deps: TenantDeps, tenantId: string, provider: string): Promise<void> {
  await new TeamAndProviders(deps).forgetProvider(tenantId, provider).catch((err: unknown) => {
    deps.logger.warn({ err: (err as Error).message, tenant_id: tenantId, provider }, 'provider seat not released');
  });
}

const isTableKey = (key: string): boolean => key.endsWith('_table');
const isProjectKey = (key: string): boolean => key === 'project_id' || key.endsWith('_project_id');

/** 422 INVALID_TABLE_REFERENCE listing every identifier setting this tenant may not use. */
function checkIdentifierSettings(scope: TableScope, tenantId: string, settings: Record<string, unknown>): void {
  const errors: FieldError[] = [];
  for (const [key, raw] of Object.entries(settings)) {
    const field = `settings.${key}`;
    try {
      if (isTableKey(key)) resolveTenantTable(scope, tenantId, raw, field);
      else if (isProjectKey(key)) checkTenantProject(scope, raw, field);
    } catch (err) {
      if (!isAppError(err)) throw err;
      errors.push(...(err.errors ?? [{ field, message: err.message }]));
    }
  }
  if (errors.length > 0) {
    throw new AppError(422, 'INVALID_TABLE_REFERENCE', 'Provider settings name a table or project this tenant may not use', { errors });
  }
}

function normalizeProvider(name: string): string {
  const provider = name.toLowerCase();
  if (!PATH_SEGMENT_PATTERN.test(provider) || provider.length > 64) {
    throw validationError([{ field: 'provider', message: 'provider must be 1-64 characters of a-z, 0-9 and _' }]);
  }
  return provider;
}

async function readStored(wh: Warehouse, tenantId: string, provider: string): Promise<StoredProvider | null> {
  const { rows } = await wh.query(
    `SELECT settings, encrypted_credentials, created_at, updated_at FROM \`${CENTRAL_DATASET}.${tenantProviders.name}\`
     WHERE tenant_id = @tenant_id AND provider = @provider`,
    { params: { tenant_id: tenantId, provider } },
  );
  const r = rows[0];
  if (!r) return null;
  return { settings: jsonObject(r.settings), encryptedCredentials: bytes(r.encrypted_credentials), createdAt: iso(r.created_at) ?? '', updatedAt: iso(r.updated_at) ?? str(r.updated_at) };
}

function writeRow(wh: Warehouse, tenantId: string, provider: string, p: StoredProvider, isDeleted: boolean, now: Date): Promise<void> {
  return write(wh, tenantProviders, [{
    tenant_id: tenantId,
    provider,
    settings: JSON.stringify(p.settings),
    encrypted_credentials: p.encryptedCredentials,
    is_deleted: isDeleted,
    created_at: new Date(p.createdAt),
    updated_at: new Date(p.updatedAt),
  }], now, 'stream');
}

const toView = (tenantId: string, provider: string, p: StoredProvider): ProviderView => ({
  tenant_id: tenantId,
  provider,
  settings: p.settings,
  has_credentials: p.encryptedCredentials !== null,
  created_at: p.createdAt,
  updated_at: p.updatedAt,
});

const providerNotFound = (tenantId: string, provider: string): AppError =>
  notFound('PROVIDER_NOT_FOUND', `Provider '${provider}' is not configured for tenant '${tenantId}'`);
