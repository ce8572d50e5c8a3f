import os from 'node:os';
import { UnrecoverableError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import type { RedisClient } from '../redis/connection';
import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import type { RedisKeys } from '../redis/keys';
import { CANCELLED_BY_USER, PIPELINE_RUNS_QUEUE } from '../queues/pipeline-runs';
import type { PipelineRunJob, RunStatus } from '../queues/pipeline-runs';
import type { RunStore } from '../queues/run-store';
import type { ExecutedOutcome, RunFinaliser } from '../queues/run-finaliser';
import type { RunProgress } from '../pipelines/types';
import { PROGRESS_WRITE_INTERVAL_MS, progressWriter } from './progress-writer';
import { closeWorker } from './close-worker';

export type ExecutionProgress = RunProgress;

export type ExecutionOutcome = ExecutedOutcome;

/** Points where a test can hold a job to land a cancel in a race window deterministically. */
export interface PipelineWorkerHooks {
  /** The job is held by this worker (its abort signal is live) and the run is not started yet. */
  beforeStart?(job: PipelineRunJob): Promise<void>;
  /** The run executed; it is not marked terminal yet. */
  beforeFinish?(job: PipelineRunJob, outcome: ExecutionOutcome): Promise<void>;
}

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
  hooks?: PipelineWorkerHooks;
  /** Called once no run has been in flight for IDLE_AFTER_MS (the log writer writes what it gathered). */
  onIdle?(): void;
}

/**
 * What a completed job returns (BullMQ stores it with the job; Bull Board shows it): the run's summary. The run
 * itself — steps, rows, errors — is in the run record and the warehouse rows; a copy of it in every retained job
 * cost JSON work per run and Redis memory per job.
 */
export interface RunJobResult {
  status: ExecutionOutcome['status'];
  duration_ms: number;
  steps_done: number;
  steps_total: number;
}

/** How long the worker holds no run before it counts as idle: longer than the gap between one job and the next. */
export const IDLE_AFTER_MS = 50;

/**
 * The failure of a job whose run is already finalised (FAILED or CANCELLED, logs recorded): Bull Board
 * shows the run's error as the failure reason, BullMQ never retries it (a run's retry policy already ran
 * inside it), and the `failed` handler knows there is nothing left to finalise.
 */
export class RunEndedError extends UnrecoverableError {}

/**
 * Runs pipeline jobs. A run is finalised exactly once (RunStore.markTerminal is first-writer-wins): by this
 * processor, by the `failed` handler when BullMQ gives up on a stalled job (worker killed twice), by a
 * cancellation, or by orphan cleanup — whichever comes first; the others see it terminal and stop.
 * Cancellation is BullMQ's own: the cancel message reaches every worker process, and the one holding the
 * job aborts the processor's signal with `Worker.cancelJob`.
 */
export class PipelineWorker {
  private readonly worker: Worker<PipelineRunJob>;
  private readonly instance: string;
  /** Jobs in this worker's processor, for the drain on close. */
  private inFlight = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private readonly onCancelMessage: (channel: string, message: string) => void;

  constructor(private readonly deps: PipelineWorkerDeps) {
    this.instance = deps.workerInstance ?? `${os.hostname()}:${process.pid}`;
    // Three parameters: BullMQ passes an abort signal only to a processor that declares it.
    this.worker = new Worker<PipelineRunJob>(PIPELINE_RUNS_QUEUE, (job, _token, signal) => this.process(job, signal), {
      connection: deps.connection,
      prefix: deps.keys.bullPrefix,
      concurrency: deps.concurrency,
      lockDuration: deps.lockDurationMs,
      // A killed worker's job is re-delivered once (steps are idempotent per run); a second stall fails it.
      maxStalledCount: 1,
      stalledInterval: Math.max(1000, Math.floor(deps.lockDurationMs / 2)),
    });
    this.worker.on('failed', (job, err) => {
      if (job && !(err instanceof RunEndedError)) void this.finaliseUnexecuted(job.data, 'FAILED', err.message);
    });
    this.worker.on('error', (err) => deps.logger.error({ err: err.message }, 'pipeline worker error'));
    // The subscriber connection is shared (the API's auth-changes channel rides on it in role `all`).
    const cancelChannel = deps.keys.cancelChannel();
    void deps.subscriber.subscribe(cancelChannel);
    this.onCancelMessage = (channel: string, runId: string) => {
      if (channel === cancelChannel) this.worker.cancelJob(runId, CANCELLED_BY_USER);
    };
    deps.subscriber.on('message', this.onCancelMessage);
  }

  async waitUntilReady(): Promise<void> {
    await this.worker.waitUntilReady();
  }

  private async process(job: Job<PipelineRunJob>, signal: AbortSignal | undefined): Promise<RunJobResult | null> {
    if (!signal) throw new Error('BullMQ passed no abort signal to the pipeline processor');
    this.inFlight += 1;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    try {
      return await this.run(job, signal);
    } finally {
      this.inFlight -= 1;
      if (this.inFlight === 0 && this.deps.onIdle) this.armIdle(this.deps.onIdle);
    }
  }

  private armIdle(onIdle: () => void): void {
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.inFlight === 0) onIdle();
    }, IDLE_AFTER_MS);
    this.idleTimer.unref();
  }

  private async run(job: Job<PipelineRunJob>, signal: AbortSignal): Promise<RunJobResult | null> {
    const data = job.data;
    // Fields, not a child logger: a child per run costs CPU at hundreds of runs/s for one or two lines.
    const ids = { pipeline_logging_id: data.pipelineLoggingId, tenant_id: data.tenantId };
    await this.deps.hooks?.beforeStart?.(data);
    const start = await this.deps.runStore.start(data.tenantId, data.pipelineLoggingId, this.deps.clock.now(), this.instance);
    if (start.outcome === 'cancel_requested') {
      await this.deps.finaliser.finishUnexecuted(data, 'CANCELLED', CANCELLED_BY_USER);
      throw new RunEndedError(CANCELLED_BY_USER);
    }
    // A re-delivered job whose run another process already ended: its job ends the way the run did.
    if (start.outcome === 'finished' && start.previous === 'COMPLETED') return null;
    if (start.outcome === 'finished') throw new RunEndedError(`Run already ended ${start.previous}`);
    if (start.outcome === 'missing') throw new RunEndedError('Run record not found in Redis');
    const progress = progressWriter(
      (p) => this.deps.runStore.recordProgress(data.tenantId, data.pipelineLoggingId, p),
      (err) => this.deps.logger.warn({ ...ids, err: err.message }, 'progress not recorded'),
      PROGRESS_WRITE_INTERVAL_MS,
    );
    let outcome: ExecutionOutcome;
    try {
      outcome = await this.deps.execute(data, { signal, attempt: job.attemptsStarted, workerInstance: this.instance, onProgress: (p) => progress.report(p) });
    } finally {
      progress.stop();
    }
    await this.deps.hooks?.beforeFinish?.(data, outcome);
    // The run's step and run rows are written (or outboxed) by now; only then does the job fail.
    await this.deps.finaliser.finishExecuted(data, outcome);
    this.deps.logger.info({ ...ids, status: outcome.status, duration_ms: outcome.durationMs }, 'run finished');
    if (outcome.status === 'CANCELLED') throw new RunEndedError(CANCELLED_BY_USER);
    if (outcome.status === 'FAILED') throw new RunEndedError(outcome.errorMessage ?? 'Run failed');
    return { status: outcome.status, duration_ms: outcome.durationMs, steps_done: outcome.stepsDone, steps_total: outcome.stepsTotal };
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
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const deadline = Date.now() + graceMs;
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await closeWorker(this.worker, this.inFlight > 0);
    this.deps.subscriber.off('message', this.onCancelMessage);
    await this.deps.subscriber.unsubscribe(this.deps.keys.cancelChannel()).catch(() => undefined);
  }
}
