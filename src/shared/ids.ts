import { randomUUID } from 'node:crypto';

/** Identifier patterns are allow-lists: anything that reaches SQL as an identifier matched one. */
export const TENANT_ID_PATTERN = /^[a-z0-9_]{3,50}$/;
export const PATH_SEGMENT_PATTERN = /^[a-z0-9_]+$/;
export const USER_ID_PATTERN = /^[A-Za-z0-9._@-]{1,128}$/;
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * Names a tenant id (= its dataset name) may never take, because the dataset of that name already
 * means something else: the platform's own datasets (`tenants`, `customers`), DuckDB's schemas and
 * catalogs (`main`, `information_schema`, `pg_catalog`, the `system` and `temp` catalogs, `memory` for
 * an in-memory file, `warehouse` for the default `warehouse.duckdb` file — a schema named like a
 * catalog makes every reference to it ambiguous) and BigQuery's `INFORMATION_SCHEMA`.
 * The catalog of a DUCKDB_PATH with another file name is checked against the engine at onboarding.
 */
export const RESERVED_TENANT_IDS: readonly string[] = [
  'tenants', 'customers', 'main', 'memory', 'information_schema', 'pg_catalog', 'system', 'temp', 'warehouse',
];

/** Reserved names, plus any leading `_`: BigQuery hides such datasets and keeps `_session`/`_script…` for itself. */
export const isReservedTenantId = (id: string): boolean => RESERVED_TENANT_IDS.includes(id.toLowerCase()) || id.startsWith('_');

export const newRunId = (): string => randomUUID();
export const newId = (): string => randomUUID();

export const pipelineIdOf = (tenantId: string, provider: string, domain: string, templateName: string): string =>
  `${tenantId}-${provider}-${domain}-${templateName}`;
