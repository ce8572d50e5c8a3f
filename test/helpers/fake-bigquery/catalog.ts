import type { SchemaField } from '../../../src/warehouse/bigquery-values';
import type { DuckDbWarehouse } from '../../../src/warehouse/duckdb';
import type { ColumnSchema, Row } from '../../../src/warehouse/types';
import { RestError, columnTypeOf } from './encoding';
import { toRestError } from './jobs';

/** datasets.* and tables.* of the fake BigQuery server, stored as DuckDB schemas and tables. */

interface RestField {
  name?: string;
  type?: string;
  mode?: string;
}

export interface TableBody {
  tableReference?: { tableId?: string };
  schema?: { fields?: RestField[] };
  timePartitioning?: { type?: string; field?: string };
  clustering?: { fields?: string[] };
  view?: { query?: string; useLegacySql?: boolean };
  description?: string;
}

export class Catalog {
  /** Metadata DuckDB does not keep (location, partitioning, clustering), as the client sent it. */
  private readonly datasetMeta = new Map<string, Record<string, unknown>>();
  private readonly tableMeta = new Map<string, TableBody>();
  /** insertAll de-duplication by insertId (BigQuery does it best-effort for about a minute). */
  private readonly seenInsertIds = new Map<string, Set<string>>();

  constructor(
    private readonly warehouse: DuckDbWarehouse,
    private readonly projectId: string,
  ) {}

  private async requireDataset(dataset: string): Promise<void> {
    if (!(await this.warehouse.datasetExists(dataset))) throw new RestError(404, 'notFound', `Not found: Dataset ${this.projectId}:${dataset}`);
  }

  private datasetResource(dataset: string): Record<string, unknown> {
    return {
      kind: 'bigquery#dataset',
      id: `${this.projectId}:${dataset}`,
      datasetReference: { projectId: this.projectId, datasetId: dataset },
      location: 'US',
      ...this.datasetMeta.get(dataset),
    };
  }

  async insertDataset(body: { datasetReference?: { datasetId?: string }; location?: string; description?: string }): Promise<unknown> {
    const dataset = body.datasetReference?.datasetId ?? '';
    if (!(await this.warehouse.createDataset(dataset).catch((err: unknown) => Promise.reject(toRestError(err))))) {
      throw new RestError(409, 'duplicate', `Already Exists: Dataset ${this.projectId}:${dataset}`);
    }
    this.datasetMeta.set(dataset, { ...(body.location ? { location: body.location } : {}), ...(body.description ? { description: body.description } : {}) });
    return this.datasetResource(dataset);
  }

  async getDataset(dataset: string): Promise<unknown> {
    await this.requireDataset(dataset);
    return this.datasetResource(dataset);
  }

  async deleteDataset(dataset: string, deleteContents: boolean): Promise<void> {
    await this.requireDataset(dataset);
    if (!deleteContents && (await this.warehouse.listTables(dataset)).length > 0) {
      throw new RestError(400, 'resourceInUse', `Dataset ${this.projectId}:${dataset} is still in use`);
    }
    await this.warehouse.dropDataset(dataset);
    this.datasetMeta.delete(dataset);
    for (const key of [...this.tableMeta.keys()]) if (key.startsWith(`${dataset}.`)) this.tableMeta.delete(key);
  }

  async listDatasets(): Promise<unknown> {
    const { rows } = await this.warehouse.query(
      `SELECT schema_name FROM information_schema.schemata
       WHERE catalog_name = current_database() AND schema_name NOT IN ('main', 'information_schema', 'pg_catalog') ORDER BY schema_name`,
    );
    return { kind: 'bigquery#datasetList', datasets: rows.map((r) => this.datasetResource(String(r['schema_name']))) };
  }

  private async tableType(dataset: string, table: string): Promise<'TABLE' | 'VIEW' | null> {
    const { rows } = await this.warehouse.query(
      'SELECT table_type FROM information_schema.tables WHERE table_schema = @d AND table_name = @t',
      { params: { d: dataset, t: table } },
    );
    const type = rows[0]?.['table_type'];
    return type === undefined ? null : type === 'VIEW' ? 'VIEW' : 'TABLE';
  }

  private async tableResource(dataset: string, table: string): Promise<Record<string, unknown>> {
    const type = await this.tableType(dataset, table);
    if (type === null) throw new RestError(404, 'notFound', `Not found: Table ${this.projectId}:${dataset}.${table}`);
    const meta = this.tableMeta.get(`${dataset}.${table}`) ?? {};
    return {
      kind: 'bigquery#table',
      id: `${this.projectId}:${dataset}.${table}`,
      tableReference: { projectId: this.projectId, datasetId: dataset, tableId: table },
      type,
      ...meta,
    };
  }

  async insertTable(dataset: string, body: TableBody): Promise<unknown> {
    await this.requireDataset(dataset);
    const table = body.tableReference?.tableId ?? '';
    const ref = { dataset, table };
    try {
      if (body.view?.query !== undefined) {
        if (await this.warehouse.tableExists(ref)) throw new RestError(409, 'duplicate', `Already Exists: Table ${this.projectId}:${dataset}.${table}`);
        await this.warehouse.createView(ref, body.view.query);
      } else {
        const columns: ColumnSchema[] = (body.schema?.fields ?? []).map((f) => ({
          name: f.name ?? '',
          type: columnTypeOf(f.type),
          ...(f.mode === 'REQUIRED' ? { mode: 'REQUIRED' as const } : {}),
        }));
        const created = await this.warehouse.createTable(ref, { columns });
        if (!created) throw new RestError(409, 'duplicate', `Already Exists: Table ${this.projectId}:${dataset}.${table}`);
      }
    } catch (err) {
      throw toRestError(err);
    }
    this.tableMeta.set(`${dataset}.${table}`, body);
    return this.tableResource(dataset, table);
  }

  /** A table's schema as the client created it (BigQuery types); undefined for views and unknown tables. */
  restSchema(dataset: string, table: string): SchemaField[] | undefined {
    const fields = this.tableMeta.get(`${dataset}.${table}`)?.schema?.fields;
    return fields?.map((f) => ({ name: f.name ?? '', type: f.type ?? 'STRING', ...(f.mode ? { mode: f.mode } : {}) }));
  }

  /** tables.patch of a schema: columns the table lacks are added (BigQuery allows adding NULLABLE columns only). */
  async patchTable(dataset: string, table: string, body: TableBody): Promise<unknown> {
    const key = `${dataset}.${table}`;
    const meta = this.tableMeta.get(key);
    if (!meta || body.schema?.fields === undefined) return this.tableResource(dataset, table);
    const have = new Set((meta.schema?.fields ?? []).map((f) => f.name?.toLowerCase()));
    const added = body.schema.fields.filter((f) => !have.has(f.name?.toLowerCase()));
    try {
      await this.warehouse.addColumns({ dataset, table }, added.map((f) => ({ name: f.name ?? '', type: columnTypeOf(f.type) })));
    } catch (err) {
      throw toRestError(err);
    }
    this.tableMeta.set(key, { ...meta, schema: { fields: [...(meta.schema?.fields ?? []), ...added] } });
    return this.tableResource(dataset, table);
  }

  getTable(dataset: string, table: string): Promise<unknown> {
    return this.tableResource(dataset, table);
  }

  async deleteTable(dataset: string, table: string): Promise<void> {
    await this.tableResource(dataset, table);
    await this.warehouse.dropTable({ dataset, table });
    this.tableMeta.delete(`${dataset}.${table}`);
  }

  async listTables(dataset: string): Promise<unknown> {
    await this.requireDataset(dataset);
    const names = await this.warehouse.listTables(dataset);
    const tables = await Promise.all(names.map((t) => this.tableResource(dataset, t)));
    return { kind: 'bigquery#tableList', tables, totalItems: tables.length };
  }

  /** tabledata.insertAll: all rows or none (skipInvalidRows=false), de-duplicated by insertId. */
  async insertAll(dataset: string, table: string, body: { rows?: Array<{ insertId?: string; json?: Row }> }): Promise<unknown> {
    await this.tableResource(dataset, table);
    const key = `${dataset}.${table}`;
    const seen = this.seenInsertIds.get(key) ?? new Set<string>();
    this.seenInsertIds.set(key, seen);
    const fresh = (body.rows ?? []).filter((r) => !(r.insertId && seen.has(r.insertId)));
    try {
      await this.warehouse.insertRows({ dataset, table }, fresh.map((r) => r.json ?? {}));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return {
        kind: 'bigquery#tableDataInsertAllResponse',
        insertErrors: (body.rows ?? []).map((_, index) => ({ index, errors: [{ reason: 'invalid', location: '', message }] })),
      };
    }
    for (const r of fresh) if (r.insertId) seen.add(r.insertId);
    return { kind: 'bigquery#tableDataInsertAllResponse' };
  }
}
