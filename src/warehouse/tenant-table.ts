import { AppError } from '../shared/errors';
import { TENANT_ID_PATTERN, isReservedTenantId } from '../shared/ids';

/**
 * The one resolver of tenant-supplied table references (SPEC §3, provider settings). A tenant may name
 * its own tables, never the platform's datasets or another tenant's: on a shared warehouse every other
 * dataset belongs to someone else, so the rule is "your dataset, or (BigQuery only) your own project".
 *
 *  - `table` or `{tenant_id}.table` — a table in the tenant's dataset, on both warehouses;
 *  - `project.dataset.table` — BigQuery only, and never the platform's project (GCP_PROJECT_ID), where
 *    every dataset is a tenant's or the platform's. The DuckDB dialect drops a project part, so there
 *    a three-part name would silently become `dataset.table` — it is refused instead.
 *
 * Identifiers are allow-listed by pattern (ASCII letters, digits, `_`; `-` in project ids): quoting,
 * backticks, whitespace, comments, wildcards, decorators and unicode look-alikes never match, and
 * nothing is normalised first (no trimming, no case folding) so what is checked is what reaches SQL.
 * Errors never echo the input: it may name another tenant's table.
 */

/** Where a tenant's references may point: the warehouse kind and, on BigQuery, the platform's own project. */
export interface TableScope {
  kind: 'duckdb' | 'bigquery';
  /** GCP_PROJECT_ID. Unset on BigQuery means no project may be named at all (fail closed). */
  platformProjectId?: string | undefined;
}

const NAME = /^[A-Za-z0-9_]{1,1024}$/;
/** GCP project ids: 6-30 of a-z, 0-9, `-`, starting with a letter (domain-scoped `example.com:p` ids are not accepted). */
const PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const MAX_REFERENCE_LENGTH = 2100;

const MINT: unique symbol = Symbol('resolveTenantTable');

/** A table reference that resolveTenantTable checked for one tenant; nothing else can make one. */
export class ResolvedTable {
  // A #private field makes the type nominal (an object literal never satisfies it) and is checkable at run time.
  readonly #tenantId: string;

  /** @internal Only resolveTenantTable holds the symbol this asks for. */
  constructor(
    mint: typeof MINT,
    tenantId: string,
    readonly project: string | null,
    readonly dataset: string,
    readonly table: string,
  ) {
    if (mint !== MINT) throw new TypeError('A ResolvedTable is only made by resolveTenantTable');
    this.#tenantId = tenantId;
    Object.freeze(this);
  }

  /** The tenant this reference was resolved for. */
  get tenantId(): string {
    return this.#tenantId;
  }

  /** The reference as the neutral SQL dialect writes it inside backticks. */
  get sqlReference(): string {
    return [this.project, this.dataset, this.table].filter((p) => p !== null).join('.');
  }

  toString(): string {
    return this.sqlReference;
  }

  /** True only for instances resolveTenantTable made (a prototype copy or a look-alike object fails). */
  static isResolved(value: unknown): value is ResolvedTable {
    return typeof value === 'object' && value !== null && #tenantId in value;
  }
}

/**
 * Resolves a tenant-supplied table reference for `tenantId` on the warehouse of `scope`, or throws
 * 422 INVALID_TABLE_REFERENCE with `errors: [{field, message}]`.
 */
export function resolveTenantTable(scope: TableScope, tenantId: string, raw: unknown, field = 'billing_export_table'): ResolvedTable {
  const refuse = (message: string): never => {
    throw invalidTableReference(field, message);
  };
  // A tenant whose id is not a tenant dataset (a platform or engine name, onboarded before those were refused) owns no table.
  if (!TENANT_ID_PATTERN.test(tenantId) || isReservedTenantId(tenantId)) return refuse('cannot be resolved: this tenant id does not own a dataset');
  const own = `${tenantId}.<table>`;
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_REFERENCE_LENGTH) return refuse(`must be a table name: ${own}`);
  const parts = raw.split('.');
  const table = parts[parts.length - 1] ?? '';
  if (parts.length > 3 || !NAME.test(table)) return refuse(`must be a table name: ${own} (letters, digits and _ only)`);
  if (parts.length === 1) return new ResolvedTable(MINT, tenantId, null, tenantId, table);
  const dataset = parts[parts.length - 2] ?? '';
  if (parts.length === 2) {
    if (dataset !== tenantId) refuse(`must be a table in your own dataset: ${own}`);
    return new ResolvedTable(MINT, tenantId, null, dataset, table);
  }
  const project = parts[0] ?? '';
  if (scope.kind !== 'bigquery') refuse(`may not name a project on the embedded warehouse; use ${own}`);
  if (!PROJECT.test(project) || project.startsWith('region-')) refuse('project must be a GCP project id (6-30 of a-z, 0-9 and -)');
  if (scope.platformProjectId === undefined || project === scope.platformProjectId) {
    refuse(`must not name the platform's project; use your own billing-export project, or ${own}`);
  }
  if (!NAME.test(dataset) || isReservedTenantId(dataset)) refuse('dataset must be a plain dataset name, not a reserved one');
  return new ResolvedTable(MINT, tenantId, project, dataset, table);
}

/**
 * Checks a tenant-supplied GCP project id (e.g. the `project_id` provider setting) by the same rules as
 * the project part of a table reference: a project id, never the platform's own.
 */
export function checkTenantProject(scope: TableScope, raw: unknown, field = 'project_id'): string {
  if (typeof raw !== 'string' || !PROJECT.test(raw) || raw.startsWith('region-')) {
    throw invalidTableReference(field, 'must be a GCP project id (6-30 of a-z, 0-9 and -, starting with a letter)');
  }
  if (scope.kind === 'bigquery' && (scope.platformProjectId === undefined || raw === scope.platformProjectId)) {
    throw invalidTableReference(field, "must be your own project, not the platform's");
  }
  return raw;
}

const invalidTableReference = (field: string, message: string): AppError =>
  new AppError(422, 'INVALID_TABLE_REFERENCE', `${field} ${message}`, { errors: [{ field, message }] });
