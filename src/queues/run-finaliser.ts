import { PendingWork } from '../shared/pending-work';
import { isTerminalStatus } from '../shared/run-status';
import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import type { Metrics } from '../observability/metrics';
import type { RunOutcome, StepState } from '../pipelines/types';
import type { PipelineRunJob, RunStatus } from './pipeline-runs';
import type { RunStore, TerminalOutcome } from './run-store';

export interface RunFinaliserDeps {
  runStore: RunStore;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Writes the warehouse terminal row of a run that ended without executing (cancelled while waiting, crashed, orphaned). */
  recordTerminal(job: PipelineRunJob): Promise<void>;
  /** Frees the run's concurrency slot (idempotent) and counts its outcome for the day. */
  release(job: PipelineRunJob, status: RunStatus, fingerprint: string | null): Promise<void>;
  /**
   * Records that the run's terminal warehouse row is owed (RunLogOutbox): called before the run is marked
   * terminal, so a worker killed after that point leaves a record another process reconciles from.
   */
  trackFinished?(job: PipelineRunJob, at: Date): Promise<void>;
  /** Called once per finished run after its slot is free (scheduler stats, deferred runs of the tenant). */
  onRunFinished?(job: PipelineRunJob, status: RunStatus, durationMs: number | null): Promise<void>;
  /** Announces the run's end to the tenant's webhooks (enqueues deliveries; never fails the run). */
  notifyRunFinished?(job: PipelineRunJob, status: RunStatus, durationMs: number | null): Promise<void>;
}

/** What the executor reports for a run it executed (src/pipelines/executor.ts). */
export type ExecutedOutcome = RunOutcome;

/**
 * Ends runs exactly once, whoever gets there first: the worker that executed it, BullMQ's failed
 * handler for a job that stalled too often, a cancellation of a waiting run, or orphan cleanup.
 * RunStore.markTerminal is first-writer-wins; only that writer releases the slot and counts the outcome.
 */
export class RunFinaliser {
  /**
   * Work after a run's end that does not hold its job: webhook announcements, and the steps of a run whose cancelled
   * BigQuery job reported its bytes after the run ended. Awaited by `drain` on shutdown.
   */
  private readonly pending = new PendingWork();

  constructor(private readonly deps: RunFinaliserDeps) {}

  /** Waits for that work (graceful shutdown, before the connections close), at most `timeoutMs` when given. */
  drain(timeoutMs?: number): Promise<boolean> {
    return this.pending.drain(timeoutMs);
  }

  /** After executeRun returned (it wrote the warehouse rows itself). Returns whether this call ended the run. */
  async finishExecuted(job: PipelineRunJob, outcome: ExecutedOutcome): Promise<boolean> {
    const mark = await this.trackAndTerminate(job, this.deps.clock.now(), {
      status: outcome.status,
      // The executor's times, so the live record and the warehouse rows it wrote agree to the millisecond.
      at: new Date(outcome.endTime),
      startedAt: new Date(outcome.startTime),
      durationMs: outcome.durationMs,
      errorMessage: outcome.errorMessage ?? null,
      steps: outcome.steps,
      stepsDone: outcome.stepsDone,
      stepsTotal: outcome.stepsTotal,
    });
    const { fresh, fingerprint } = mark;
    if (fresh) await this.afterTerminal(job, outcome.status, outcome.durationMs, fingerprint);
    else await this.releaseEnded(job, mark);
    // Only now, with the record terminal, may the late figures replace the steps the end wrote.
    if (fresh && outcome.late) this.pending.track(this.recordLateSteps(job, outcome.late));
    return fresh;
  }

  /**
   * The run had already ended when this call came (a re-delivered job, a cancel or cleanup racing the worker, the
   * `failed` handler after a finalisation that threw): release its slot again. release.lua is idempotent (only a slot
   * still held is removed and its outcome counted), so this is a no-op unless the first end's release was lost — e.g.
   * Redis went down between the terminal mark and the release — which would otherwise hold the slot until the lease
   * passes (template timeout + ORPHAN_MARGIN_MINUTES). Never throws: the lease remains the backstop.
   */
  private async releaseEnded(job: PipelineRunJob, mark: { fingerprint: string | null; previous: string }): Promise<void> {
    if (!isTerminalStatus(mark.previous)) return;
    try {
      await this.deps.release(job, mark.previous, mark.fingerprint);
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message, pipeline_logging_id: job.pipelineLoggingId }, 'slot of an ended run not released again; its lease frees it');
    }
  }

  private async recordLateSteps(job: PipelineRunJob, late: Promise<StepState[] | null>): Promise<void> {
    try {
      const steps = await late;
      if (steps) await this.deps.runStore.recordLateSteps(job.tenantId, job.pipelineLoggingId, steps);
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message, pipeline_logging_id: job.pipelineLoggingId }, 'late step figures not recorded in the live run');
    }
  }

  /** Ends a run that did not execute (or no longer can); writes its warehouse row too. No-op when already terminal. */
  async finishUnexecuted(job: PipelineRunJob, status: RunStatus, errorMessage: string | null): Promise<boolean> {
    const at = this.deps.clock.now();
    const mark = await this.trackAndTerminate(job, at, { status, at, durationMs: null, errorMessage });
    const { fresh, fingerprint } = mark;
    if (!fresh) {
      await this.releaseEnded(job, mark);
      return false;
    }
    try {
      await this.deps.runStore.closeOpenSteps(job.tenantId, job.pipelineLoggingId, { status, errorMessage, at });
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message, pipeline_logging_id: job.pipelineLoggingId }, 'open steps of an ended run not closed');
    }
    await this.deps.recordTerminal(job);
    await this.afterTerminal(job, status, null, fingerprint);
    return true;
  }

  /**
   * The outbox entry, then the terminal mark, issued in the same tick on the same (auto-pipelined) connection:
   * one round trip of wait instead of two. On one server they leave in one write and Redis applies them in that
   * order; on a cluster (other slots, maybe other nodes) both are written before the call waits. Either way a
   * worker killed while waiting leaves the entry with the terminal mark. Should the entry fail and the mark succeed, the run
   * is ended anyway (its slot must be released; its rows are with the log writer) and the failure logged; a
   * failed mark fails the call as before.
   */
  private async trackAndTerminate(job: PipelineRunJob, at: Date, outcome: TerminalOutcome): Promise<{ fresh: boolean; fingerprint: string | null; previous: string }> {
    const tracked = this.deps.trackFinished?.(job, at);
    const terminated = this.deps.runStore.terminate(job.tenantId, job.pipelineLoggingId, outcome);
    const [entry, mark] = await Promise.allSettled([tracked, terminated]);
    if (mark.status === 'rejected') throw mark.reason;
    if (entry.status === 'rejected') {
      if (!mark.value.fresh) throw entry.reason;
      this.deps.logger.error({ err: (entry.reason as Error).message, pipeline_logging_id: job.pipelineLoggingId }, 'run log outbox entry not recorded');
    }
    return mark.value;
  }

  private async afterTerminal(job: PipelineRunJob, status: RunStatus, durationMs: number | null, fingerprint: string | null): Promise<void> {
    // The webhook announcement depends on nothing below and never fails the run, so the job does not wait for it:
    // the first run of a tenant in a process reads its endpoints from the warehouse (a query job on BigQuery), and
    // holding the job for that held the worker's slot too. Awaiting it would not make it durable either: a worker
    // killed after the terminal mark loses the announcement whether or not the job was still held (the re-delivered
    // job finds the run already ended). A graceful stop waits for it (`drain`). The hook waits for the release
    // (it may start the tenant's deferred runs).
    this.pending.track(this.announce(job, status, durationMs));
    await this.deps.release(job, status, fingerprint);
    const template = `${job.provider}/${job.domain}/${job.templateName}`;
    this.deps.metrics.runsTotal.inc({ tenant_id: job.tenantId, template, status });
    if (durationMs !== null) this.deps.metrics.runDuration.observe({ template, status }, durationMs / 1000);
    try {
      await this.deps.onRunFinished?.(job, status, durationMs);
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message, pipeline_logging_id: job.pipelineLoggingId }, 'after-run hook failed');
    }
  }

  private async announce(job: PipelineRunJob, status: RunStatus, durationMs: number | null): Promise<void> {
    try {
      await this.deps.notifyRunFinished?.(job, status, durationMs);
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message, pipeline_logging_id: job.pipelineLoggingId }, 'run webhook hook failed');
    }
  }
}
