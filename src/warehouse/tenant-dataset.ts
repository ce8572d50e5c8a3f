import { AppError } from '../shared/errors';
import { TENANT_ID_PATTERN, isReservedTenantId } from '../shared/ids';
import { CENTRAL_STATE_TABLES, CUSTOMER_STATE_TABLES, eventsTableName } from './tables';
import type { Warehouse } from './types';

/**
 * The dataset of one tenant, as a type: onboarding's create and force-drop paths take a TenantDataset,
 * and the only way to get one is `tenantDataset()`, which refuses platform datasets and engine names
 * (RESERVED_TENANT_IDS, plus the catalogs this DuckDB file has attached). Dropping one also refuses a
 * dataset that holds platform tables, so a wrong name can never wipe `tenants` or `customers`.
 */

const MINT: unique symbol = Symbol('tenantDataset');

export class TenantDataset {
  // Nominal type: only a value made below satisfies it.
  readonly #name: string;

  /** @internal Only tenantDataset holds the symbol this asks for. */
  constructor(mint: typeof MINT, name: string) {
    if (mint !== MINT) throw new TypeError('A TenantDataset is only made by tenantDataset');
    this.#name = name;
    Object.freeze(this);
  }

  get name(): string {
    return this.#name;
  }

  toString(): string {
    return this.#name;
  }
}

export const reservedTenantIdError = (tenantId: string): AppError =>
  new AppError(422, 'RESERVED_TENANT_ID', `tenant_id '${tenantId}' is reserved: it names a platform dataset or a warehouse catalog`, {
    errors: [{ field: 'tenant_id', message: 'is a reserved name (tenants, customers, main, memory, information_schema, pg_catalog, system, temp, …)' }],
  });

/** Names DuckDB resolves as catalogs (the attached database files, `system`, `temp`); none on BigQuery. */
export async function engineCatalogNames(warehouse: Warehouse): Promise<string[]> {
  if (warehouse.kind !== 'duckdb') return [];
  const { rows } = await warehouse.query('SELECT database_name FROM duckdb_databases()');
  return rows.map((r) => String(r['database_name']).toLowerCase());
}

/** Checks `tenantId` names a dataset that can be a tenant's own; 422 VALIDATION_ERROR or RESERVED_TENANT_ID otherwise. */
export async function tenantDataset(warehouse: Warehouse, tenantId: string): Promise<TenantDataset> {
  if (!TENANT_ID_PATTERN.test(tenantId)) {
    throw new AppError(422, 'VALIDATION_ERROR', 'tenant_id is not valid', { errors: [{ field: 'tenant_id', message: `must match ${TENANT_ID_PATTERN.source}` }] });
  }
  if (isReservedTenantId(tenantId) || (await engineCatalogNames(warehouse)).includes(tenantId)) throw reservedTenantIdError(tenantId);
  return new TenantDataset(MINT, tenantId);
}

const PLATFORM_TABLES = new Set([...CENTRAL_STATE_TABLES, ...CUSTOMER_STATE_TABLES].flatMap((t) => [t.name, eventsTableName(t)]));

/** Drops a tenant's dataset, unless it holds a platform table (then it is not a tenant's, whatever its name). */
export async function dropTenantDataset(warehouse: Warehouse, dataset: TenantDataset): Promise<void> {
  if (!(await warehouse.datasetExists(dataset.name))) return;
  const platform = (await warehouse.listTables(dataset.name)).filter((t) => PLATFORM_TABLES.has(t));
  if (platform.length > 0) throw reservedTenantIdError(dataset.name);
  await warehouse.dropDataset(dataset.name);
}
