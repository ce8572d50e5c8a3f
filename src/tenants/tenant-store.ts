import type { QueryParams, Row, Warehouse, ColumnType } from '../warehouse/types';
import {
  CENTRAL_DATASET,
  eventsTableName,
  tenantApiKeys,
  tenantProfiles,
  tenantSubscriptions,
  tenantUsageQuotas,
} from '../warehouse/tables';
import type { StateTable } from '../warehouse/tables';
import { appendStateRows, stateRowsViaDml } from '../warehouse/state-tables';
import type { TenantStatus } from './profile-cache';
import { bytes, iso, num, str } from './row-values';

/**
 * Warehouse reads and writes of the central `tenants` dataset. Writes append full snapshots to the
 * `<table>_events` tables (the view keeps the latest); onboarding writes through DML instead so a
 * failed onboarding can DELETE its rows at once (BigQuery cannot delete streamed rows for ~30 min).
 * Every value is a bound parameter; column and table names come from tables.ts only.
 */

export interface ProfileRecord {
  tenantId: string;
  companyName: string;
  adminEmail: string;
  status: TenantStatus;
  subscriptionPlan: string;
  createdAt: string;
  updatedAt: string;
}

export interface SubscriptionRecord {
  tenantId: string;
  planName: string;
  status: string;
  dailyLimit: number;
  monthlyLimit: number;
  concurrentLimit: number;
  teamLimit: number;
  providerLimit: number;
  createdAt: string;
  updatedAt: string;
}

export interface ApiKeyRecord {
  keyId: string;
  tenantId: string;
  keyHash: string;
  encryptedKey: Buffer | null;
  keyPrefix: string;
  isActive: boolean;
  expiresAt: string | null;
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export interface UsageRecord {
  tenantId: string;
  usageDate: string;
  dailyLimit: number;
  monthlyLimit: number;
  concurrentLimit: number;
}

/** `stream` = appendStateRows (hot path, batched); `dml` = INSERT statements that can be deleted soon after. */
export type WriteMode = 'stream' | 'dml';

let lastSeq = 0;
/**
 * Event ordinal: microseconds of `now`, bumped past the previous one so two writes in the same
 * instant (or under a frozen test clock) still order as written.
 */
export function nextSeq(now: Date): number {
  lastSeq = Math.max(now.getTime() * 1000, lastSeq + 1);
  return lastSeq;
}

/** Writes snapshots of one central state table. */
export async function write(wh: Warehouse, table: StateTable, rows: Row[], now: Date, mode: WriteMode): Promise<void> {
  const options = { seq: nextSeq(now), now };
  if (mode === 'dml') await stateRowsViaDml(wh, CENTRAL_DATASET, table, rows, options);
  else await appendStateRows(wh, CENTRAL_DATASET, table, rows, options);
}

const ts = (iso: string | null): Date | null => (iso === null ? null : new Date(iso));

// --- writes ---------------------------------------------------------------------------------------

/**
 * Onboarding writes its profile as ONBOARDING and flips it to ACTIVE as its last step: until then every reader
 * but onboarding sees no tenant, and a profile an onboarding's stopped process left behind can be told apart.
 */
export const ONBOARDING_STATUS = 'ONBOARDING';

export function writeProfile(wh: Warehouse, p: Omit<ProfileRecord, 'status'> & { status: TenantStatus | typeof ONBOARDING_STATUS }, now: Date, mode: WriteMode = 'stream'): Promise<void> {
  return write(wh, tenantProfiles, [{
    tenant_id: p.tenantId,
    company_name: p.companyName,
    admin_email: p.adminEmail,
    status: p.status,
    subscription_plan: p.subscriptionPlan,
    created_at: ts(p.createdAt),
    updated_at: ts(p.updatedAt),
  }], now, mode);
}

export function writeSubscription(wh: Warehouse, s: SubscriptionRecord, now: Date, mode: WriteMode = 'stream'): Promise<void> {
  return write(wh, tenantSubscriptions, [{
    tenant_id: s.tenantId,
    plan_name: s.planName,
    status: s.status,
    daily_limit: s.dailyLimit,
    monthly_limit: s.monthlyLimit,
    concurrent_limit: s.concurrentLimit,
    team_limit: s.teamLimit,
    provider_limit: s.providerLimit,
    created_at: ts(s.createdAt),
    updated_at: ts(s.updatedAt),
  }], now, mode);
}

export function writeApiKey(wh: Warehouse, k: ApiKeyRecord, now: Date, mode: WriteMode = 'stream'): Promise<void> {
  return write(wh, tenantApiKeys, [{
    key_id: k.keyId,
    tenant_id: k.tenantId,
    key_hash: k.keyHash,
    encrypted_key: k.encryptedKey,
    key_prefix: k.keyPrefix,
    is_active: k.isActive,
    expires_at: ts(k.expiresAt),
    created_at: ts(k.createdAt),
    revoked_at: ts(k.revokedAt),
    last_used_at: ts(k.lastUsedAt),
  }], now, mode);
}

/** A fresh usage row (all counters 0), as onboarding writes for the current UTC day. */
export function writeInitialUsage(wh: Warehouse, u: UsageRecord, now: Date, mode: WriteMode = 'stream'): Promise<void> {
  return write(wh, tenantUsageQuotas, [{
    tenant_id: u.tenantId,
    usage_date: u.usageDate,
    pipelines_run_today: 0,
    pipelines_succeeded_today: 0,
    pipelines_failed_today: 0,
    pipelines_run_month: 0,
    concurrent_pipelines_running: 0,
    daily_limit: u.dailyLimit,
    monthly_limit: u.monthlyLimit,
    concurrent_limit: u.concurrentLimit,
    last_updated: now,
  }], now, mode);
}

/**
 * Onboarding's last step. An UPDATE of the row onboarding INSERTed (DML rows can be changed at once, like the
 * rollback's DELETEs), so a tenant still has one profile event when it is onboarded.
 */
export async function activateProfile(wh: Warehouse, tenantId: string): Promise<void> {
  await wh.query(
    `UPDATE \`${CENTRAL_DATASET}.${eventsTableName(tenantProfiles)}\` SET status = 'ACTIVE' WHERE tenant_id = @tenant_id AND status = '${ONBOARDING_STATUS}'`,
    { params: { tenant_id: tenantId } },
  );
}

// --- rollback (onboarding only; the rows were written with mode 'dml') -----------------------------

export async function deleteProfileRows(wh: Warehouse, tenantId: string): Promise<void> {
  await deleteEvents(wh, tenantProfiles, 'tenant_id = @tenant_id', { tenant_id: tenantId });
}

export async function deleteSubscriptionRows(wh: Warehouse, tenantId: string): Promise<void> {
  await deleteEvents(wh, tenantSubscriptions, 'tenant_id = @tenant_id', { tenant_id: tenantId });
}

export async function deleteApiKeyRows(wh: Warehouse, keyId: string): Promise<void> {
  await deleteEvents(wh, tenantApiKeys, 'key_id = @key_id', { key_id: keyId });
}

/** Every key row of the tenant: an onboarding a stopped process left unfinished wrote at most one. */
export async function deleteApiKeyRowsOfTenant(wh: Warehouse, tenantId: string): Promise<void> {
  await deleteEvents(wh, tenantApiKeys, 'tenant_id = @tenant_id', { tenant_id: tenantId });
}

export async function deleteUsageRowsOfTenant(wh: Warehouse, tenantId: string): Promise<void> {
  await deleteEvents(wh, tenantUsageQuotas, 'tenant_id = @tenant_id', { tenant_id: tenantId });
}

export async function deleteUsageRows(wh: Warehouse, tenantId: string, usageDate: string): Promise<void> {
  await deleteEvents(wh, tenantUsageQuotas, 'tenant_id = @tenant_id AND usage_date = @usage_date', { tenant_id: tenantId, usage_date: usageDate }, {
    usage_date: 'DATE',
  });
}

async function deleteEvents(wh: Warehouse, table: StateTable, where: string, params: QueryParams, paramTypes?: Record<string, ColumnType>): Promise<void> {
  await wh.query(`DELETE FROM \`${CENTRAL_DATASET}.${eventsTableName(table)}\` WHERE ${where}`, { params, ...(paramTypes ? { paramTypes } : {}) });
}

const statusOf = (s: string): TenantStatus => (s === 'SUSPENDED' || s === 'DELETED' ? s : 'ACTIVE');

// --- reads ----------------------------------------------------------------------------------------

/** The tenant's profile; null when there is none or an onboarding has not finished it (status ONBOARDING). */
export async function readProfile(wh: Warehouse, tenantId: string): Promise<ProfileRecord | null> {
  const found = await readProfileForOnboarding(wh, tenantId);
  return found && !found.unfinished ? found.profile : null;
}

/** As onboarding sees it: `unfinished` = written by an onboarding that has not (or never) finished. */
export async function readProfileForOnboarding(wh: Warehouse, tenantId: string): Promise<{ profile: ProfileRecord; unfinished: boolean } | null> {
  const { rows } = await wh.query(
    `SELECT tenant_id, company_name, admin_email, status, subscription_plan, created_at, updated_at
     FROM \`${CENTRAL_DATASET}.${tenantProfiles.name}\` WHERE tenant_id = @tenant_id`,
    { params: { tenant_id: tenantId } },
  );
  const r = rows[0];
  if (!r) return null;
  const profile: ProfileRecord = {
    tenantId: str(r.tenant_id),
    companyName: str(r.company_name),
    adminEmail: str(r.admin_email),
    status: statusOf(str(r.status)),
    subscriptionPlan: str(r.subscription_plan),
    createdAt: iso(r.created_at) ?? '',
    updatedAt: iso(r.updated_at) ?? '',
  };
  return { profile, unfinished: str(r.status) === ONBOARDING_STATUS };
}

export async function readSubscription(wh: Warehouse, tenantId: string): Promise<SubscriptionRecord | null> {
  const { rows } = await wh.query(
    `SELECT tenant_id, plan_name, status, daily_limit, monthly_limit, concurrent_limit, team_limit, provider_limit, created_at, updated_at
     FROM \`${CENTRAL_DATASET}.${tenantSubscriptions.name}\` WHERE tenant_id = @tenant_id`,
    { params: { tenant_id: tenantId } },
  );
  const r = rows[0];
  if (!r) return null;
  return {
    tenantId: str(r.tenant_id),
    planName: str(r.plan_name),
    status: str(r.status),
    dailyLimit: num(r.daily_limit),
    monthlyLimit: num(r.monthly_limit),
    concurrentLimit: num(r.concurrent_limit),
    teamLimit: num(r.team_limit),
    providerLimit: num(r.provider_limit),
    createdAt: iso(r.created_at) ?? '',
    updatedAt: iso(r.updated_at) ?? '',
  };
}

const API_KEY_COLUMNS = 'key_id, tenant_id, key_hash, encrypted_key, key_prefix, is_active, expires_at, created_at, revoked_at, last_used_at';

export async function readApiKeyByHash(wh: Warehouse, keyHash: string): Promise<ApiKeyRecord | null> {
  const { rows } = await wh.query(`SELECT ${API_KEY_COLUMNS} FROM \`${CENTRAL_DATASET}.${tenantApiKeys.name}\` WHERE key_hash = @key_hash`, {
    params: { key_hash: keyHash },
  });
  return rows[0] ? toApiKey(rows[0]) : null;
}

/** Every key of the tenant, active or not (the loader of the tenant's key cache). */
export async function readApiKeysOfTenant(wh: Warehouse, tenantId: string): Promise<ApiKeyRecord[]> {
  const { rows } = await wh.query(`SELECT ${API_KEY_COLUMNS} FROM \`${CENTRAL_DATASET}.${tenantApiKeys.name}\` WHERE tenant_id = @tenant_id`, {
    params: { tenant_id: tenantId },
  });
  return rows.map(toApiKey);
}

export async function readApiKeyById(wh: Warehouse, keyId: string): Promise<ApiKeyRecord | null> {
  const { rows } = await wh.query(`SELECT ${API_KEY_COLUMNS} FROM \`${CENTRAL_DATASET}.${tenantApiKeys.name}\` WHERE key_id = @key_id`, {
    params: { key_id: keyId },
  });
  return rows[0] ? toApiKey(rows[0]) : null;
}

function toApiKey(r: Row): ApiKeyRecord {
  return {
    keyId: str(r.key_id),
    tenantId: str(r.tenant_id),
    keyHash: str(r.key_hash),
    encryptedKey: bytes(r.encrypted_key),
    keyPrefix: str(r.key_prefix),
    isActive: r.is_active === true,
    expiresAt: iso(r.expires_at),
    createdAt: iso(r.created_at) ?? '',
    revokedAt: iso(r.revoked_at),
    lastUsedAt: iso(r.last_used_at),
  };
}
