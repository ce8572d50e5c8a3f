import type { Warehouse } from '../warehouse/types';
import {
  CENTRAL_DATASET,
  CENTRAL_STATE_TABLES,
  CUSTOMERS_DATASET,
  CUSTOMER_STATE_TABLES,
  TENANT_STATE_TABLES,
  eventsTableName,
  AUDIT_LOG_TABLE,
  auditLogSpec,
} from '../warehouse/tables';
import type { StateTable } from '../warehouse/tables';
import { ensureStateTable } from '../warehouse/state-tables';
import { dropTenantDataset, tenantDataset } from '../warehouse/tenant-dataset';
import type { TenantDataset } from '../warehouse/tenant-dataset';

export interface BootstrapResult {
  datasetsCreated: string[];
  /** `dataset.table` names of the state tables whose events table did not exist before. */
  tablesCreated: string[];
}

/** Creates the central datasets `tenants` and `customers` with all their tables; safe to run at every boot. */
export async function bootstrapCentral(deps: { warehouse: Warehouse }): Promise<BootstrapResult> {
  const { warehouse } = deps;
  const result: BootstrapResult = { datasetsCreated: [], tablesCreated: [] };
  const layout: [string, StateTable[]][] = [
    [CENTRAL_DATASET, CENTRAL_STATE_TABLES],
    [CUSTOMERS_DATASET, CUSTOMER_STATE_TABLES],
  ];
  for (const [dataset, tables] of layout) {
    if (await warehouse.createDataset(dataset)) result.datasetsCreated.push(dataset);
    for (const table of tables) {
      const existed = await warehouse.tableExists({ dataset, table: eventsTableName(table) });
      // Re-run even when present: ensureStateTable also (re)creates the latest-row view.
      await ensureStateTable(warehouse, dataset, table);
      if (!existed) result.tablesCreated.push(`${dataset}.${table.name}`);
    }
  }
  // The audit log is a plain append-only table (no latest-row view): rows are never superseded.
  if (await warehouse.createTable({ dataset: CENTRAL_DATASET, table: AUDIT_LOG_TABLE }, auditLogSpec)) result.tablesCreated.push(`${CENTRAL_DATASET}.${AUDIT_LOG_TABLE}`);
  return result;
}

export interface TenantDatasetOptions {
  /** Drop the whole dataset `{tenant_id}` (pipeline output included) before creating it. */
  forceRecreateDataset?: boolean;
  /** Drop and recreate the tenant's x_meta tables (their history is lost). */
  forceRecreateTables?: boolean;
  /** Test hook called before each meta table is created. */
  beforeTable?: (name: string) => void | Promise<void>;
}

export interface TenantDatasetResult {
  datasetCreated: boolean;
  /** Guide names of the meta tables this call created, in the guide's order. */
  tablesCreated: string[];
}

/**
 * Dataset `{tenant_id}` with x_meta_pipeline_runs, x_meta_step_logs and x_meta_dq_results (each an
 * events table + latest-row view). Idempotent without force flags. On failure it removes what it created itself
 * (the dataset if new, else the tables it made) before rethrowing, so callers roll back nothing here.
 *
 * Every create and drop below goes through a TenantDataset: a platform dataset (`tenants`, `customers`) or
 * an engine catalog is refused (422 RESERVED_TENANT_ID) whatever the caller checked, and a force drop of a
 * dataset holding platform tables is refused too.
 */
export async function createTenantDataset(
  deps: { warehouse: Warehouse },
  tenantId: string,
  options: TenantDatasetOptions = {},
): Promise<TenantDatasetResult> {
  const { warehouse } = deps;
  const dataset = await tenantDataset(warehouse, tenantId);
  if (options.forceRecreateDataset) await dropTenantDataset(warehouse, dataset);
  const datasetCreated = await warehouse.createDataset(dataset.name, { description: `Convergence tenant ${dataset.name}` });
  const tablesCreated: string[] = [];
  try {
    if (options.forceRecreateTables && !datasetCreated) await dropMetaTables(warehouse, dataset);
    for (const table of TENANT_STATE_TABLES) {
      await options.beforeTable?.(table.name);
      const existed = await warehouse.tableExists({ dataset: dataset.name, table: eventsTableName(table) });
      await ensureStateTable(warehouse, dataset.name, table);
      if (!existed) tablesCreated.push(table.name);
    }
  } catch (err) {
    await undo(warehouse, dataset, { datasetCreated, tablesCreated }).catch(() => undefined);
    throw err;
  }
  return { datasetCreated, tablesCreated };
}

/** Undoes a createTenantDataset result: drops the dataset it created, or else the tables it created. */
export async function removeCreated(warehouse: Warehouse, tenantId: string, created: TenantDatasetResult): Promise<void> {
  await undo(warehouse, await tenantDataset(warehouse, tenantId), created);
}

async function undo(warehouse: Warehouse, dataset: TenantDataset, created: TenantDatasetResult): Promise<void> {
  if (created.datasetCreated) {
    await dropTenantDataset(warehouse, dataset);
    return;
  }
  for (const name of created.tablesCreated) await dropMetaTable(warehouse, dataset, name);
}

async function dropMetaTables(warehouse: Warehouse, dataset: TenantDataset): Promise<void> {
  for (const table of TENANT_STATE_TABLES) await dropMetaTable(warehouse, dataset, table.name);
}

/** A state table is a view over `<name>_events`; drop both (the view first, it depends on the table). */
async function dropMetaTable(warehouse: Warehouse, dataset: TenantDataset, name: string): Promise<void> {
  const state = TENANT_STATE_TABLES.find((t) => t.name === name);
  await warehouse.dropTable({ dataset: dataset.name, table: name });
  if (state) await warehouse.dropTable({ dataset: dataset.name, table: eventsTableName(state) });
}
