import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import type { Logger } from '../shared/logger';
import { eventsTableName, latestViewSql, TENANT_STATE_TABLES } from '../warehouse/tables';
import type { Warehouse } from '../warehouse/types';

/**
 * Gives the meta tables of tenants onboarded before a column was added (`addedColumns` in tables.ts, e.g. the
 * cost columns) that column, and their latest-row views with it, so the log writer's rows fit them. Onboarding
 * does this for its own tenant (ensureStateTable); this does it once for all existing ones, at boot. Idempotent;
 * a marker per column set makes later boots skip it.
 */
const MIGRATION = `tenant-columns:${TENANT_STATE_TABLES.flatMap((t) => (t.addedColumns ?? []).map((c) => `${t.name}.${c.name}`)).join(',')}`;

export async function upgradeTenantTables(deps: { warehouse: Warehouse; redis: RedisClient; keys: RedisKeys; logger: Logger }): Promise<number> {
  const marker = deps.keys.migrationDone(MIGRATION);
  if (await deps.redis.exists(marker)) return 0;
  const tenants = await deps.redis.smembers(deps.keys.tenantIndex());
  let upgraded = 0;
  for (const tenantId of tenants.sort()) {
    if (!(await deps.warehouse.datasetExists(tenantId))) continue;
    for (const table of TENANT_STATE_TABLES) {
      if (!table.addedColumns || table.addedColumns.length === 0) continue;
      const ref = { dataset: tenantId, table: eventsTableName(table) };
      if (!(await deps.warehouse.tableExists(ref))) continue;
      await deps.warehouse.addColumns(ref, table.addedColumns);
      await deps.warehouse.createView({ dataset: tenantId, table: table.name }, latestViewSql(tenantId, table));
    }
    upgraded++;
  }
  await deps.redis.set(marker, new Date().toISOString());
  if (upgraded > 0) deps.logger.info({ tenants: upgraded, migration: MIGRATION }, 'tenant meta tables upgraded');
  return upgraded;
}
