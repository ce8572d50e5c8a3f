import { newRunId, pipelineIdOf } from '../../src/shared/ids';
import { silentLogger } from '../../src/shared/logger';
import type { Clock } from '../../src/shared/clock';
import type { PipelineRunJob } from '../../src/queues/pipeline-runs';
import { ensureStateTable } from '../../src/warehouse/state-tables';
import { dqResults, pipelineRuns, stepLogs } from '../../src/warehouse/tables';
import type { QueryOptions, QueryResult, Row, Warehouse } from '../../src/warehouse/types';
import { parseTemplate } from '../../src/pipelines/template-registry';
import type { Template } from '../../src/pipelines/types';

/** Creates the tenant dataset and its meta tables as onboarding would. */
export async function createTenantTables(warehouse: Warehouse, tenantId: string): Promise<void> {
  await warehouse.createDataset(tenantId);
  await ensureStateTable(warehouse, tenantId, pipelineRuns);
  await ensureStateTable(warehouse, tenantId, stepLogs);
  await ensureStateTable(warehouse, tenantId, dqResults);
}

/** A template from inline YAML, as if it lived at configs/test/pipe/<name>.yml. */
export function inlineTemplate(yaml: string, name = 'sample'): Template {
  return parseTemplate(yaml, { provider: 'test', domain: 'pipe', name, file: `inline/${name}.yml` });
}

export function jobFor(template: Template, tenantId: string, parameters: PipelineRunJob['parameters'], overrides: Partial<PipelineRunJob> = {}): PipelineRunJob {
  return {
    pipelineLoggingId: newRunId(),
    pipelineId: pipelineIdOf(tenantId, template.provider, template.domain, template.name),
    tenantId,
    provider: template.provider,
    domain: template.domain,
    templateName: template.name,
    parameters,
    userId: 'alice_uuid_123',
    triggerType: 'api',
    admittedAt: '2025-11-15T08:00:00.000Z',
    ...overrides,
  };
}

export const quietLogger = silentLogger();

/** Sleep stand-in for retry backoff: records the waits and returns at once. */
export function recordingSleep(): { waits: number[]; sleep: (ms: number) => Promise<void> } {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

export const fixedClock = (iso: string): Clock => ({ now: () => new Date(iso) });

type QueryHook = (sql: string, options: QueryOptions | undefined) => Promise<void> | void;

/**
 * Wraps a warehouse to observe or disturb it: `beforeQuery` runs before each query (throw to fail it,
 * await to hold it); every query and insert is recorded along with the signal it carried.
 */
export function instrument(inner: Warehouse, beforeQuery?: QueryHook): Warehouse & {
  queries: Array<{ sql: string; signal: AbortSignal | undefined; error?: unknown }>;
  inserts: Array<{ table: string; rows: number }>;
} {
  const queries: Array<{ sql: string; signal: AbortSignal | undefined; error?: unknown }> = [];
  const inserts: Array<{ table: string; rows: number }> = [];
  const wrapped = Object.create(inner) as Warehouse & { queries: typeof queries; inserts: typeof inserts };
  return Object.assign(wrapped, {
    queries,
    inserts,
    kind: inner.kind,
    async query<R extends Row = Row>(sql: string, options?: QueryOptions): Promise<QueryResult<R>> {
      const entry: { sql: string; signal: AbortSignal | undefined; error?: unknown } = { sql, signal: options?.signal };
      queries.push(entry);
      try {
        await beforeQuery?.(sql, options);
        return await inner.query<R>(sql, options);
      } catch (err) {
        entry.error = err;
        throw err;
      }
    },
    async insertRows(ref: { dataset: string; table: string }, rows: Row[], options?: { insertIds?: string[] }): Promise<void> {
      inserts.push({ table: `${ref.dataset}.${ref.table}`, rows: rows.length });
      return inner.insertRows(ref, rows, options);
    },
  });
}
