import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import type { PipelineRunJob, RunParameters } from '../queues/pipeline-runs';
import type { Warehouse } from '../warehouse/types';
import { BilledWarehouse, BytesMeter } from './billed-warehouse';
import type { CostGuard } from './billed-warehouse';
import { blockedSteps, readySteps } from './dag';
import { tenantErrorText } from './error-text';
import { parameterTypes, validateRunParameters } from './parameters';
import { buildRenderContext } from './render';
import type { RenderContext, RenderOverrides } from './render';
import { runBytesOf, stepSnapshotOf } from './run-log-writer';
import type { RunLogWriter, RunSnapshot, StepSnapshot } from './run-log-writer';
import { abortableSleep, runStepWithRetries } from './step-runner';
import type { Sleep } from './step-runner';
import type { TemplateRegistry } from './template-registry';
import type { RunOutcome, RunProgress, StepDef, StepState, Template } from './types';

/**
 * Executes one run: the steps of its template as a DAG (independent steps in parallel), with step and
 * run timeouts, retries and cancellation, logging every state change through the run log writer.
 * It never throws for a failing run; the outcome says how it ended.
 *
 * Semantics: a failed step blocks its dependants (SKIPPED). `on_failure: stop` (default) also stops
 * the run from starting further steps (steps already running finish) and the run ends FAILED;
 * `on_failure: continue` lets independent steps carry on and the run still COMPLETES.
 *
 * event_seq of the log rows is the writer's clock in ms, made strictly increasing within an execution:
 * later snapshots always win in the latest-row views, also over a previous execution of the same run
 * (a crashed worker's job re-delivered). A PENDING row written at admission uses 0.
 */
export interface ExecutorDeps {
  /** The steps' warehouse: bounded by the step and run timeouts and cancellation, not by a platform deadline (clients.stepWarehouse). */
  warehouse: Warehouse;
  logWriter: RunLogWriter;
  logger: Logger;
  clock: Clock;
  templates: TemplateRegistry;
  /** Backoff waits between retries; injectable so tests do not sleep. */
  sleep?: Sleep;
  /** BigQuery cost guardrails (README "Cost guardrails"); without it, or on DuckDB, steps run unmetered. */
  costGuard?: CostGuard;
}

export interface ExecuteOptions {
  signal: AbortSignal;
  workerInstance: string;
  attempt: number;
  onProgress?(progress: RunProgress): void;
  /**
   * Per-run values from tenant settings (the GCP billing export table), resolved when the run starts:
   * a stored value the resolver refuses fails this run like any other render error.
   */
  overrides?: () => Promise<RenderOverrides>;
}

class RunTimeoutError extends Error {
  constructor(minutes: number) {
    super(`Run timed out after ${minutes} minute(s)`);
    this.name = 'RunTimeoutError';
  }
}

const TERMINAL = new Set<StepState['status']>(['COMPLETED', 'FAILED', 'SKIPPED', 'CANCELLED']);

export async function executeRun(deps: ExecutorDeps, job: PipelineRunJob, options: ExecuteOptions): Promise<RunOutcome> {
  const { clock, logWriter } = deps;
  const started = clock.now();
  let lastSeq = 0;
  const nextSeq = (): number => (lastSeq = Math.max(clock.now().getTime(), lastSeq + 1));
  const template = deps.templates.get(job.provider, job.domain, job.templateName);
  const steps: StepState[] = (template?.steps ?? []).map((s) => ({ id: s.id, type: s.type, status: 'PENDING', attempt: 0 }));
  const stepsDone = (): number => steps.filter((s) => TERMINAL.has(s.status)).length;

  const runRow = (status: string, errorMessage: string | null, ended?: Date): RunSnapshot => ({
    pipeline_logging_id: job.pipelineLoggingId,
    pipeline_id: job.pipelineId,
    tenant_id: job.tenantId,
    user_id: job.userId,
    trigger_type: job.triggerType,
    status,
    start_time: started.toISOString(),
    end_time: ended ? ended.toISOString() : null,
    duration_ms: ended ? ended.getTime() - started.getTime() : null,
    parameters: job.parameters,
    error_message: errorMessage,
    worker_instance: options.workerInstance,
    steps_total: steps.length,
    steps_done: stepsDone(),
    created_at: job.admittedAt,
    ...runBytesOf(steps),
  });
  /** Each BigQuery step's meter, by step id. */
  const meters = new Map<string, BytesMeter>();
  const finish = (status: RunOutcome['status'], errorMessage?: string): RunOutcome => {
    const ended = clock.now();
    logWriter.writeRun(job.tenantId, runRow(status, errorMessage ?? null, ended), nextSeq());
    // A job cancelled with its run bills what it read by then; BigQuery says how much only after the run ended.
    // Its step's row and the run's row are written again with those bytes (newer snapshots win in the views).
    const late = [...meters].filter(([, meter]) => meter.late.length > 0);
    let rewritten: Promise<StepState[] | null> | undefined;
    if (late.length > 0) {
      const rewrite = async (): Promise<StepState[] | null> => {
        const added = await Promise.all(late.map(([, meter]) => meter.addLate()));
        if (!added.some((bytes) => bytes > 0)) return null;
        for (const [id, meter] of late) {
          const i = steps.findIndex((s) => s.id === id);
          const step = { ...(steps[i] as StepState), ...meter.totals() };
          steps[i] = step;
          logWriter.writeStep(job.tenantId, stepRow(step), nextSeq());
        }
        logWriter.writeRun(job.tenantId, runRow(status, errorMessage ?? null, ended), nextSeq());
        return steps.map((s) => ({ ...s }));
      };
      rewritten = rewrite();
      deps.costGuard?.late?.track(rewritten.then(() => undefined));
    }
    const outcome: RunOutcome = {
      status,
      ...(errorMessage === undefined ? {} : { errorMessage }),
      stepsTotal: steps.length,
      stepsDone: stepsDone(),
      steps: steps.map((s) => ({ ...s })),
      startTime: started.toISOString(),
      endTime: ended.toISOString(),
      durationMs: ended.getTime() - started.getTime(),
      ...(rewritten ? { late: rewritten } : {}),
    };
    // No progress report here: the outcome carries the final steps and the worker writes them with the terminal status.
    // Debug: the worker logs every finished run at info ('run finished'); two info lines per run cost CPU at hundreds of runs/s.
    deps.logger.debug({ pipeline_logging_id: job.pipelineLoggingId, tenant_id: job.tenantId, status, duration_ms: outcome.durationMs }, 'pipeline run finished');
    return outcome;
  };

  if (!template) return finish('FAILED', `Template ${job.provider}/${job.domain}/${job.templateName} not found`);
  let params: RunParameters;
  let render: RenderContext;
  try {
    params = validateRunParameters(template, job.parameters, new Date(job.admittedAt));
    render = buildRenderContext(template, { ...job, pipelineLoggingId: job.pipelineLoggingId }, await options.overrides?.());
  } catch (err) {
    return finish('FAILED', tenantErrorText(err));
  }
  if (options.signal.aborted) return finish('CANCELLED', 'Run cancelled');

  logWriter.writeRun(job.tenantId, runRow('RUNNING', null), nextSeq());
  const stepRow = (s: StepState): StepSnapshot => stepSnapshotOf(job.pipelineLoggingId, steps.findIndex((x) => x.id === s.id), s);
  /** Steps with a log row already: a step started at once gets no PENDING row (its RUNNING row follows in the same turn). */
  const logged = new Set<string>();
  const setStep = (next: StepState): void => {
    const i = steps.findIndex((s) => s.id === next.id);
    steps[i] = next;
    logged.add(next.id);
    logWriter.writeStep(job.tenantId, stepRow(next), nextSeq());
    // The run row's steps_done follows each finished step, except the last: finish() writes the final row right after.
    const done = stepsDone();
    if (TERMINAL.has(next.status) && done < steps.length) logWriter.writeRun(job.tenantId, runRow('RUNNING', null), nextSeq());
    options.onProgress?.({ stepsDone: done, stepsTotal: steps.length, steps: steps.map((s) => ({ ...s })) });
  };

  // One controller for the run: aborted by the caller (cancel) or the run timeout.
  const run = new AbortController();
  const onCancel = (): void => run.abort(new Error('Run cancelled'));
  options.signal.addEventListener('abort', onCancel, { once: true });
  const timer = setTimeout(() => run.abort(new RunTimeoutError(template.timeout_minutes)), template.timeout_minutes * 60_000);
  try {
    const dag = runDag(template, run.signal, (step) => {
      const billed = stepWarehouse(deps, job, step.id);
      if (billed) meters.set(step.id, billed.meter);
      return runStepWithRetries(
        { clock, sleep: deps.sleep ?? abortableSleep },
        {
          step,
          retry: template.retry,
          runSignal: run.signal,
          update: setStep,
          ...(billed ? { bytes: () => billed.meter.totals() } : {}),
          context: {
            warehouse: billed ?? deps.warehouse,
            dataset: job.tenantId,
            pipelineLoggingId: job.pipelineLoggingId,
            render,
            params,
            paramTypes: parameterTypes(template),
            clock,
            labels: { tenant_id: job.tenantId, provider: job.provider, domain: job.domain, template: job.templateName, step: step.id },
            recordDq: (rows) => logWriter.writeDq(job.tenantId, rows),
          },
        },
      );
    },
      () => steps,
      setStep,
    );
    // runDag started the ready steps synchronously (their RUNNING rows are written); the others wait as PENDING.
    for (const s of steps) if (!logged.has(s.id)) logWriter.writeStep(job.tenantId, stepRow(s), nextSeq());
    const stopped = await dag;
    if (options.signal.aborted) return finish('CANCELLED', 'Run cancelled');
    if (run.signal.aborted) return finish('FAILED', (run.signal.reason as Error).message);
    if (stopped) return finish('FAILED', `Step "${stopped.id}" failed: ${stopped.errorMessage ?? 'unknown error'}`);
    return finish('COMPLETED');
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener('abort', onCancel);
  }
}

/** A step's metered BigQuery warehouse; null on DuckDB (no byte figures: the step records unknown) or without a guard. */
function stepWarehouse(deps: ExecutorDeps, job: PipelineRunJob, stepId: string): BilledWarehouse | null {
  if (!deps.costGuard || deps.warehouse.kind !== 'bigquery') return null;
  const meter = new BytesMeter(deps.costGuard.pricePerTibUsd);
  return new BilledWarehouse(deps.warehouse, deps.costGuard, job.tenantId, `${job.pipelineLoggingId}:${stepId}`, meter);
}

/**
 * Starts every ready step, waits for any to settle, repeats. Returns the step whose failure stopped
 * the run (on_failure: stop), if any. Steps never started end SKIPPED (blocked or stopped) or
 * CANCELLED (run aborted).
 */
async function runDag(
  template: Template,
  signal: AbortSignal,
  start: (step: StepDef) => Promise<StepState>,
  states: () => StepState[],
  setStep: (s: StepState) => void,
): Promise<StepState | undefined> {
  const running = new Map<string, Promise<StepState>>();
  const statusMap = (): Map<string, StepState['status']> => new Map(states().map((s) => [s.id, running.has(s.id) ? 'RUNNING' : s.status]));
  let stoppedBy: StepState | undefined;
  for (;;) {
    // Repeat until stable: skipping one step may block its own dependants.
    for (let blocked = blockedSteps(template.steps, statusMap()); blocked.length > 0; blocked = blockedSteps(template.steps, statusMap())) {
      for (const s of blocked) {
        setStep(signal.aborted ? { id: s.id, type: s.type, status: 'CANCELLED', attempt: 0 } : { id: s.id, type: s.type, status: 'SKIPPED', attempt: 0, errorMessage: 'an upstream step did not complete' });
      }
    }
    if (!signal.aborted && !stoppedBy) {
      for (const step of readySteps(template.steps, statusMap())) {
        running.set(step.id, start(step));
      }
    }
    if (running.size === 0) break;
    const done = await Promise.race([...running.values()]);
    running.delete(done.id);
    const def = template.steps.find((s) => s.id === done.id);
    if (done.status === 'FAILED' && def?.on_failure !== 'continue' && !stoppedBy) stoppedBy = done;
  }
  for (const s of states()) {
    if (s.status !== 'PENDING') continue;
    setStep(signal.aborted ? { ...s, status: 'CANCELLED' } : { ...s, status: 'SKIPPED', errorMessage: `run stopped after step "${stoppedBy?.id ?? ''}" failed` });
  }
  return stoppedBy;
}
