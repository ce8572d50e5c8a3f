import os from 'node:os';
import { Worker } from 'bullmq';
import type { Job } from 'bullmq';
import type { RedisClient } from '../redis/connection';
import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import type { RedisKeys } from '../redis/keys';
import { PIPELINE_RUNS_QUEUE, TERMINAL_STATUSES } from '../queues/pipeline-runs';
import type { PipelineRunJob, RunStatus } from '../queues/pipeline-runs';
import type { RunStore } from '../queues/run-store';
import type { ExecutedOutcome, RunFinaliser } from '../queues/run-finaliser';
import type { RunProgress } from '../pipelines/types';

export type ExecutionProgress = RunProgress;

export type ExecutionOutcome = ExecutedOutcome;

export interface PipelineWorkerDeps {
  connection: RedisClient;
  /** A dedicated connection for the cancellation channel (a subscribed connection can do nothing else). */
  subscriber: RedisClient;
  keys: RedisKeys;
  runStore: RunStore;
  logger: Logger;
  clock: Clock;
  concurrency: number;
  lockDurationMs: number;
  workerInstance?: string;
  execute(job: PipelineRunJob, options: { signal: AbortSignal; attempt: number; workerInstance: string; onProgress(p: ExecutionProgress): void }): Promise<ExecutionOutcome>;
  finaliser: RunFinaliser;
}

/**
 * Runs pipeline jobs. A run is finalised exactly once (RunStore.markTerminal is first-writer-wins): by this
 * processor, by the `failed` handler when BullMQ gives up on a stalled job (worker killed twice), by a
 * cancellation, or by orphan cleanup — whichever comes first; the others see it terminal and stop.
 */
export class PipelineWorker {
  private readonly worker: Worker<PipelineRunJob>;
  private readonly running = new Map<string, AbortController>();
  private readonly instance: string;

  constructor(private readonly deps: PipelineWorkerDeps) {
    this.instance = deps.workerInstance ?? `${os.hostname()}:${process.pid}`;
    this.worker = new Worker<PipelineRunJob>(PIPELINE_RUNS_QUEUE, (job) => this.process(job), {
      connection: deps.connection,
      prefix: deps.keys.bullPrefix,
      concurrency: deps.concurrency,
      lockDuration: deps.lockDurationMs,
      // A killed worker's job is re-delivered once (steps are idempotent per run); a second stall fails it.
      maxStalledCount: 1,
      stalledInterval: Math.max(1000, Math.floor(deps.lockDurationMs / 2)),
    });
    this.worker.on('failed', (job, err) => {
      if (job) void this.finaliseUnexecuted(job.data, 'FAILED', err.message);
    });
    this.worker.on('error', (err) => deps.logger.error({ err: err.message }, 'pipeline worker error'));
    void deps.subscriber.subscribe(deps.keys.cancelChannel());
    deps.subscriber.on('message', (_channel: string, runId: string) => this.running.get(runId)?.abort());
  }

  async waitUntilReady(): Promise<void> {
    await this.worker.waitUntilReady();
  }

  private async process(job: Job<PipelineRunJob>): Promise<ExecutionOutcome | null> {
    const data = job.data;
    const log = this.deps.logger.child({ pipeline_logging_id: data.pipelineLoggingId, tenant_id: data.tenantId });
    const live = await this.deps.runStore.get(data.tenantId, data.pipelineLoggingId);
    if (live && (live.cancelRequested || TERMINAL_STATUSES.includes(live.status))) {
      if (live.cancelRequested) await this.finaliseUnexecuted(data, 'CANCELLED', 'Cancelled before start');
      return null;
    }
    const controller = new AbortController();
    this.running.set(data.pipelineLoggingId, controller);
    try {
      await this.deps.runStore.markRunning(data.tenantId, data.pipelineLoggingId, this.deps.clock.now(), this.instance);
      const outcome = await this.deps.execute(data, {
        signal: controller.signal,
        attempt: job.attemptsStarted,
        workerInstance: this.instance,
        onProgress: (p) => {
          void this.deps.runStore.recordProgress(data.tenantId, data.pipelineLoggingId, p).catch((err: Error) => log.warn({ err: err.message }, 'progress not recorded'));
        },
      });
      await this.deps.finaliser.finishExecuted(data, outcome);
      log.info({ status: outcome.status, duration_ms: outcome.durationMs }, 'run finished');
      return outcome;
    } finally {
      this.running.delete(data.pipelineLoggingId);
    }
  }

  private async finaliseUnexecuted(data: PipelineRunJob, status: RunStatus, errorMessage: string | null): Promise<void> {
    try {
      await this.deps.finaliser.finishUnexecuted(data, status, errorMessage);
    } catch (err) {
      this.deps.logger.error({ err: (err as Error).message, pipeline_logging_id: data.pipelineLoggingId }, 'could not finalise run');
    }
  }

  /**
   * Stops taking jobs and lets in-flight runs finish for up to `graceMs`; runs still going then are handed
   * back: the worker closes without them, their locks lapse, and BullMQ re-delivers them to another worker.
   */
  async close(graceMs = 0): Promise<void> {
    await this.worker.pause(true);
    const deadline = Date.now() + graceMs;
    while (this.running.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await this.worker.close(this.running.size > 0);
    await this.deps.subscriber.unsubscribe().catch(() => undefined);
  }
}
