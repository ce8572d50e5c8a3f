import { AppError } from '../shared/errors';
import { deleteApiKeyCache } from '../tenants/profile-cache';
import type { TenantDeps } from '../tenants/tenant-deps';
import { CENTRAL_DATASET, CUSTOMERS_DATASET, customerPipelineConfigs, eventsTableName, pipelineExecutionQueue, scheduledPipelineRuns, tenantApiKeys, tenantProviders } from '../warehouse/tables';
import type { StateTable } from '../warehouse/tables';
import { WarehouseError } from '../warehouse/types';
import type { OffboardStep } from './types';

/**
 * 5a. The tenant's data outside Redis: schedules (through the scheduler's delete, due index first), the jobs BullMQ
 * retains, its rows in the central datasets (API keys, provider settings and credentials, schedule configs and
 * their fire/queue history), then its dataset. Subscription and usage rows stay with the profile (billing history).
 * API-key rows go before their Redis cache entries: once the rows are gone a lookup can only cache "unknown".
 */
const ROWS_DELETED: Array<{ dataset: string; table: StateTable; kind: string }> = [
  { dataset: CENTRAL_DATASET, table: tenantApiKeys, kind: 'api_key_rows' },
  { dataset: CENTRAL_DATASET, table: tenantProviders, kind: 'provider_rows' },
  { dataset: CUSTOMERS_DATASET, table: customerPipelineConfigs, kind: 'schedule_rows' },
  { dataset: CUSTOMERS_DATASET, table: scheduledPipelineRuns, kind: 'schedule_history_rows' },
  { dataset: CUSTOMERS_DATASET, table: pipelineExecutionQueue, kind: 'execution_queue_rows' },
];

const fromEvents = (dataset: string, t: StateTable): string => `\`${dataset}.${eventsTableName(t)}\``;

async function distinct(t: TenantDeps, sql: string, tenantId: string): Promise<string[]> {
  const { rows } = await t.warehouse.query(sql, { params: { tenant_id: tenantId } });
  return rows.map((r) => String(Object.values(r)[0]));
}

/** BigQuery refuses DELETE over rows streamed in the last ~30 minutes; the offboarding resumes here on a later call. */
async function deleteRows(t: TenantDeps, dataset: string, table: StateTable, tenantId: string): Promise<number> {
  try {
    const result = await t.warehouse.query(`DELETE FROM ${fromEvents(dataset, table)} WHERE tenant_id = @tenant_id`, { params: { tenant_id: tenantId } });
    return result.affectedRows ?? 0;
  } catch (err) {
    if (err instanceof WarehouseError && /streaming buffer/i.test(err.message)) {
      throw new AppError(503, 'DEPENDENCY_UNAVAILABLE', `BigQuery cannot delete rows of ${table.name} streamed in the last 30 minutes yet; call offboard again later, it resumes at this step`);
    }
    throw err;
  }
}

export const deleteDataStep: OffboardStep = {
  name: 'delete_data',
  // Counts go to the progress row part by part (ctx.record), so a crash mid-step loses none of them.
  async run({ tenantId, deps, record }) {
    const t = deps.tenant;
    const schedules = await deps.schedules.list(tenantId);
    for (const s of schedules) await deps.schedules.remove(tenantId, s.config_id);
    await record({ schedules: schedules.length, queue_jobs: await deps.runs.removeQueueJobs(tenantId) });

    const keyHashes = await distinct(t, `SELECT DISTINCT key_hash FROM ${fromEvents(CENTRAL_DATASET, tenantApiKeys)} WHERE tenant_id = @tenant_id`, tenantId);
    const providers = await distinct(t, `SELECT DISTINCT provider FROM ${fromEvents(CENTRAL_DATASET, tenantProviders)} WHERE tenant_id = @tenant_id`, tenantId);
    for (const { dataset, table, kind } of ROWS_DELETED) {
      const rows = await deleteRows(t, dataset, table, tenantId);
      await record({ [kind]: rows, ...(table === tenantApiKeys ? { api_keys: keyHashes.length } : table === tenantProviders ? { providers: providers.length } : {}) });
    }
    // A crash before these leaves cache entries whose hashes are gone from the warehouse: purge_redis finds them by tenant_id.
    for (const hash of keyHashes) {
      await deleteApiKeyCache(t.redis, t.keys, hash);
      await t.authChanges?.keyChanged(hash);
    }

    const datasetTables = (await t.warehouse.datasetExists(tenantId)) ? (await t.warehouse.listTables(tenantId)).length : 0;
    await t.warehouse.dropDataset(tenantId);
    await record({ dataset_tables: datasetTables });
    return { detail: 'dataset dropped; schedules, retained queue jobs, API keys, provider settings and credentials deleted (counts in `deleted`)' };
  },
  async plan({ tenantId, deps }) {
    const t = deps.tenant;
    const keys = await distinct(t, `SELECT DISTINCT key_id FROM ${fromEvents(CENTRAL_DATASET, tenantApiKeys)} WHERE tenant_id = @tenant_id`, tenantId);
    const providers = await distinct(t, `SELECT DISTINCT provider FROM ${fromEvents(CENTRAL_DATASET, tenantProviders)} WHERE tenant_id = @tenant_id`, tenantId);
    const schedules = (await deps.schedules.list(tenantId)).length;
    const exists = await t.warehouse.datasetExists(tenantId);
    return `${exists ? `dataset ${tenantId} would be dropped` : 'no dataset'}; ${keys.length} API keys, ${providers.length} provider settings and ${schedules} schedules would be deleted`;
  },
};
