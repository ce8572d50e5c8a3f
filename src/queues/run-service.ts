import type { Queue } from 'bullmq';
import type { RedisClient } from '../redis/connection';
import { AppError } from '../shared/errors';
import type { Clock } from '../shared/clock';
import type { RedisKeys } from '../redis/keys';
import type { Warehouse } from '../warehouse/types';
import { pipelineRuns, stepLogs } from '../warehouse/tables';
import { runAlreadyFinished } from '../redis/scripts/errors';
import type { PipelineRunJob, RunStatus } from './pipeline-runs';
import { CANCELLED_BY_USER, isTerminalStatus } from './pipeline-runs';
import type { RunFinaliser } from './run-finaliser';
import type { LiveRun, RunStore } from './run-store';
import { runFromRows } from './stored-run';
import type { Run } from '../pipelines/run';

export interface RunServiceDeps {
  runStore: RunStore;
  warehouse: Warehouse;
  queue: Queue<PipelineRunJob>;
  redis: RedisClient;
  keys: RedisKeys;
  finaliser: RunFinaliser;
  clock: Clock;
  /** How long DELETE waits for a running run to reach CANCELLED before answering. */
  cancelWaitMs?: number;
}

export interface RunListFilters {
  pipeline_id?: string;
  status?: RunStatus;
  since?: Date;
  until?: Date;
  limit: number;
  cursor?: string;
}

/** One page of runs, newest first; `nextCursor` continues after the last one. */
export interface RunPage {
  runs: Run[];
  nextCursor: string | null;
}

/** What DELETE answers: the run's status now, or CANCELLING while a running run has not stopped yet. */
export interface CancelAnswer {
  pipeline_logging_id: string;
  status: RunStatus | 'CANCELLING';
}

const runNotFound = (): AppError => new AppError(404, 'RUN_NOT_FOUND', 'Pipeline run not found');

const encodeCursor = (createdAt: string, id: string): string => Buffer.from(JSON.stringify([createdAt, id])).toString('base64url');

function decodeCursor(cursor: string): [string, string] {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && typeof value[0] === 'string' && typeof value[1] === 'string' && !Number.isNaN(Date.parse(value[0]))) return [value[0], value[1]];
  } catch {
    // fall through
  }
  throw new AppError(422, 'VALIDATION_ERROR', 'Invalid cursor', { errors: [{ field: 'cursor', message: 'is not a cursor this API returned' }] });
}

/** Recent run ids read from Redis per round trip while a filtered list looks for its page. */
const RECENT_CHUNK = 100;

/** Reads and cancels runs: Redis while a run is recent, the tenant's warehouse dataset after that. */
export class RunService {
  constructor(private readonly deps: RunServiceDeps) {}

  async getRun(tenantId: string, runId: string): Promise<Run> {
    const live = await this.deps.runStore.get(tenantId, runId);
    if (live) {
      if (live.tenantId !== tenantId) throw runNotFound();
      return live;
    }
    const rows = await this.deps.warehouse.query(`SELECT * FROM \`${tenantId}.${pipelineRuns.name}\` WHERE pipeline_logging_id = @id`, { params: { id: runId } });
    const row = rows.rows[0];
    if (!row) throw runNotFound();
    const steps = await this.deps.warehouse.query(`SELECT * FROM \`${tenantId}.${stepLogs.name}\` WHERE pipeline_logging_id = @id ORDER BY step_index, start_time`, { params: { id: runId } });
    return runFromRows(row, steps.rows);
  }

  async listRuns(tenantId: string, filters: RunListFilters): Promise<RunPage> {
    const conditions: string[] = ['TRUE'];
    const params: Record<string, string | Date> = {};
    if (filters.pipeline_id) (conditions.push('pipeline_id = @pipeline_id'), (params.pipeline_id = filters.pipeline_id));
    if (filters.status) (conditions.push('status = @status'), (params.status = filters.status));
    if (filters.since) (conditions.push('created_at >= @since'), (params.since = filters.since));
    if (filters.until) (conditions.push('created_at <= @until'), (params.until = filters.until));
    let before: [string, string] | null = null;
    if (filters.cursor) {
      before = decodeCursor(filters.cursor);
      conditions.push('(created_at < @cursor_time OR (created_at = @cursor_time AND pipeline_logging_id < @cursor_id))');
      params.cursor_time = new Date(before[0]);
      params.cursor_id = before[1];
    }
    const sql = `SELECT * FROM \`${tenantId}.${pipelineRuns.name}\` WHERE ${conditions.join(' AND ')} ORDER BY created_at DESC, pipeline_logging_id DESC LIMIT ${filters.limit + 1}`;
    const stored = (await this.deps.warehouse.query(sql, { params })).rows.map((r) => runFromRows(r, []));
    // Recent runs (PENDING ones are not in the warehouse yet) come from Redis and win over stored rows, also
    // where the live record no longer matches the filters (a stored row may still say RUNNING).
    const { live, matching } = await this.recentRuns(tenantId, filters, before);
    const merged = new Map<string, Run>();
    for (const r of stored) if (!live.has(r.pipelineLoggingId)) merged.set(r.pipelineLoggingId, r);
    for (const r of matching) merged.set(r.pipelineLoggingId, r);
    const sorted = [...merged.values()].sort((a, b) => {
      const ta = new Date(a.createdAt).toISOString();
      const tb = new Date(b.createdAt).toISOString();
      return ta === tb ? b.pipelineLoggingId.localeCompare(a.pipelineLoggingId) : tb.localeCompare(ta);
    });
    const page = sorted.slice(0, filters.limit);
    const last = page[page.length - 1];
    const more = sorted.length > filters.limit;
    return { runs: page, nextCursor: more && last ? encodeCursor(new Date(last.createdAt).toISOString(), last.pipelineLoggingId) : null };
  }

  /**
   * The tenant's recent runs in Redis (its index keeps the newest RunStore `recentPerTenant`), newest first, that
   * match the filters: read a chunk at a time, their filter fields first, until a page and one more match — so
   * a filter that matches few recent runs (one PENDING among hundreds ended) still finds them. `live`: every id
   * read that has a live record, matching or not.
   */
  private async recentRuns(tenantId: string, filters: RunListFilters, before: [string, string] | null): Promise<{ live: Set<string>; matching: LiveRun[] }> {
    const sinceMs = filters.since?.getTime() ?? 0;
    const untilMs = before ? Date.parse(before[0]) : (filters.until?.getTime() ?? Number.MAX_SAFE_INTEGER);
    const want = filters.limit + 1;
    const chunk = Math.max(want, RECENT_CHUNK);
    const live = new Set<string>();
    const ids: string[] = [];
    for (let offset = 0; ids.length < want; offset += chunk) {
      const page = await this.deps.runStore.recentIds(tenantId, sinceMs, untilMs, chunk, offset);
      for (const f of await this.deps.runStore.listFields(tenantId, page)) {
        if (!f) continue;
        live.add(f.runId);
        if (filters.pipeline_id && f.pipelineId !== filters.pipeline_id) continue;
        if (filters.status && f.status !== filters.status) continue;
        if (before && (f.createdAt > before[0] || (f.createdAt === before[0] && f.runId >= before[1]))) continue;
        if (ids.length < want) ids.push(f.runId);
      }
      if (page.length < chunk) break;
    }
    const runs = await Promise.all(ids.map((id) => this.deps.runStore.get(tenantId, id)));
    return { live, matching: runs.filter((r): r is LiveRun => r !== null && r.tenantId === tenantId) };
  }

  /**
   * Cancels a run: a waiting job is removed and ends CANCELLED here; a job a worker holds is aborted
   * through the cancel channel (the flag set first is what run-start.lua checks, so a cancel landing
   * before the start is never lost). A cancel that loses the race to the run's end answers 409
   * RUN_ALREADY_FINISHED with the final status.
   */
  /**
   * `takeSeat` (the caller's team seat, 403 TEAM_LIMIT_REACHED) is taken only once the run is known to be this
   * tenant's and still live: a 404 or a 409 for a run that already finished takes none.
   */
  async cancelRun(tenantId: string, runId: string, takeSeat?: () => Promise<void>): Promise<CancelAnswer> {
    const live = await this.deps.runStore.get(tenantId, runId);
    if (!live || live.tenantId !== tenantId) {
      const stored = await this.getRun(tenantId, runId); // 404 when it is not this tenant's
      throw runAlreadyFinished(String(stored.status));
    }
    await takeSeat?.();
    const request = await this.deps.runStore.requestCancel(tenantId, runId);
    if (request.outcome === 'finished') throw runAlreadyFinished(request.previous);
    if (request.outcome === 'missing') throw runNotFound();
    const queued = await this.deps.queue.getJob(runId);
    if (queued) {
      const removed = await queued.remove().then(
        () => true,
        () => false, // locked by a worker: it is running, so it is cancelled through the channel below
      );
      if (removed) await this.deps.finaliser.finishUnexecuted(queued.data, 'CANCELLED', CANCELLED_BY_USER);
    }
    await this.deps.redis.publish(this.deps.keys.cancelChannel(), runId);
    const status = await this.waitForTerminal(tenantId, runId, this.deps.cancelWaitMs ?? 3000);
    if (status !== null && status !== 'CANCELLED') throw runAlreadyFinished(status);
    return { pipeline_logging_id: runId, status: status ?? 'CANCELLING' };
  }

  private async waitForTerminal(tenantId: string, runId: string, timeoutMs: number): Promise<RunStatus | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.deps.runStore.status(tenantId, runId);
      if (status && isTerminalStatus(status)) return status;
      if (Date.now() >= deadline) return null;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
