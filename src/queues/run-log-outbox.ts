import type { RedisClient } from '../redis/connection';
import type { Logger } from '../shared/logger';
import type { RedisKeys } from '../redis/keys';
import { runBytesOf, stepSnapshotOf } from '../pipelines/run-log-writer';
import type { RunLogWriter } from '../pipelines/run-log-writer';
import { isTerminalStatus } from './pipeline-runs';
import type { LiveRun, RunStore } from './run-store';

/**
 * Finished runs whose terminal warehouse row is not confirmed written yet. Log rows are batched in
 * memory for cost (≤ 3 insert requests per run); a worker that dies with rows still buffered would
 * lose them. So a run is tracked here before it is marked terminal, the log writer confirms it once
 * the insert that carried its terminal row succeeded, and `reconcile` rewrites the rows of anything
 * left unconfirmed from the run's live record in Redis — from whichever process runs it.
 */
export interface ReconcileSummary {
  checked: number;
  rewritten: number;
  expired: number;
}

/** Rewritten snapshots must win over anything the executor wrote (its seqs are millisecond times). */
const REWRITE_SEQ_OFFSET = 2_000_000;

/** A finished run as the outbox names it: the member carries the tenant, which locates the run's hash. */
export interface FinishedRun {
  tenantId: string;
  runId: string;
}

/** Tenant ids are `[a-z0-9_]` and run ids UUIDs, so '|' separates them unambiguously. */
export const outboxMember = (run: FinishedRun): string => `${run.tenantId}|${run.runId}`;

export function parseOutboxMember(member: string): FinishedRun | null {
  const at = member.indexOf('|');
  return at > 0 && at < member.length - 1 ? { tenantId: member.slice(0, at), runId: member.slice(at + 1) } : null;
}

export class RunLogOutbox {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly logger: Logger,
  ) {}

  async track(tenantId: string, runId: string, at: Date): Promise<void> {
    await this.redis.zadd(this.keys.logsUnconfirmed(), at.getTime(), outboxMember({ tenantId, runId }));
  }

  /** Called by the log writer after a successful insert; a lost confirmation only costs a harmless rewrite. */
  confirm(runs: FinishedRun[]): void {
    this.redis.zrem(this.keys.logsUnconfirmed(), ...runs.map(outboxMember)).catch((err: Error) => this.logger.debug({ err: err.message }, 'log confirmation not recorded'));
  }

  async pending(): Promise<number> {
    return this.redis.zcard(this.keys.logsUnconfirmed());
  }

  /** Rewrites the terminal rows of runs still unconfirmed `graceMs` after they ended. Idempotent. */
  async reconcile(deps: { runStore: RunStore; logWriter: RunLogWriter }, now: Date, graceMs = 30_000): Promise<ReconcileSummary> {
    const key = this.keys.logsUnconfirmed();
    const members = await this.redis.zrangebyscore(key, '-inf', now.getTime() - graceMs, 'LIMIT', 0, 1000);
    const summary: ReconcileSummary = { checked: members.length, rewritten: 0, expired: 0 };
    for (const member of members) {
      const run = parseOutboxMember(member);
      const live = run ? await deps.runStore.get(run.tenantId, run.runId) : null;
      if (!live) {
        await this.redis.zrem(key, member);
        summary.expired += 1;
        this.logger.error({ pipeline_logging_id: run?.runId ?? member, tenant_id: run?.tenantId }, 'finished run expired from Redis before its warehouse row was confirmed');
        continue;
      }
      if (!isTerminalStatus(live.status)) continue;
      writeRunFromLive(deps.logWriter, live);
      summary.rewritten += 1;
    }
    if (summary.rewritten > 0) await deps.logWriter.flush();
    return summary;
  }
}

/**
 * Writes a finished run's run row and step rows from its live record in Redis. Used to rewrite unconfirmed
 * runs and to record runs that end without executing (cancelled while waiting, orphaned): the live record
 * keeps what the run got to (start time, steps), so nothing the worker wrote is blanked out.
 */
export function writeRunFromLive(writer: RunLogWriter, live: LiveRun): void {
  const seq = (live.endTime ? Date.parse(live.endTime) : Date.now()) + REWRITE_SEQ_OFFSET;
  writer.writeRun(
    live.tenantId,
    {
      pipeline_logging_id: live.pipelineLoggingId,
      pipeline_id: live.pipelineId,
      tenant_id: live.tenantId,
      user_id: live.userId,
      trigger_type: live.triggerType,
      status: live.status,
      start_time: live.startTime,
      end_time: live.endTime,
      duration_ms: live.durationMs,
      parameters: live.parameters,
      error_message: live.errorMessage,
      worker_instance: live.workerInstance,
      steps_total: live.stepsTotal,
      steps_done: live.stepsDone,
      created_at: live.createdAt,
      ...runBytesOf(live.steps),
    },
    seq,
  );
  live.steps.forEach((step, index) => writer.writeStep(live.tenantId, stepSnapshotOf(live.pipelineLoggingId, index, step), seq));
}
