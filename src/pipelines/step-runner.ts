import { WarehouseError } from '../warehouse/types';
import type { Clock } from '../shared/clock';
import { isAppError } from '../shared/errors';
import { runDayOf, tenantErrorText } from './error-text';
import { StepFailure, runStep } from './steps';
import type { StepContext, StepResult } from './steps';
import type { RetryPolicy, StepDef, StepState } from './types';

/**
 * Runs one step to a final state: each attempt gets its own AbortController, aborted by the step
 * timeout or by the run's signal (run timeout, cancellation); the abort reaches the warehouse call,
 * which cancels its job. Failed attempts are retried with exponential backoff, except failures that
 * retrying cannot fix (a failed data-quality check, an invalid template).
 */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

export const abortableSleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

export class StepTimeoutError extends Error {
  constructor(minutes: number) {
    super(`Step timed out after ${minutes} minute(s)`);
    this.name = 'StepTimeoutError';
  }
}

/** Settles with `work`, or rejects as soon as `signal` aborts even if the work ignores the signal. */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => undefined); // the loser of the race must not become an unhandled rejection
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export interface StepRunnerDeps {
  clock: Clock;
  sleep: Sleep;
  /** How long an aborted step may take to wind down before the runner moves on anyway. */
  abortGraceMs?: number;
}

const DEFAULT_ABORT_GRACE_MS = 30_000;

/** Waits for `work` to settle, but no longer than `ms`. */
async function settledWithin(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.then(() => undefined, () => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

export interface StepRunInput {
  step: StepDef;
  /** Template-level retry, overridden by the step's own. */
  retry: RetryPolicy;
  /** Everything but the per-attempt signal. */
  context: Omit<StepContext, 'signal' | 'stepId'>;
  runSignal: AbortSignal;
  /** Called with every state change (RUNNING per attempt, the final state). */
  update(state: StepState): void;
  /** The step's bytes over all its jobs and attempts (BigQuery, BilledWarehouse); the final state carries them. */
  bytes?: () => Pick<StepState, 'bytesProcessed' | 'bytesBilled' | 'estimatedCostUsd'>;
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
/** Retrying helps with warehouse hiccups; not with a failed check, a template that does not render, or SQL naming a missing table. */
/** Errors a retry cannot fix: the query or its target is wrong, the engine's own isolation refused it, or the platform lacks permission. */
const PERMANENT_WAREHOUSE_ERRORS = new Set<WarehouseError['reason']>([
  'not_found', 'invalid_query', 'already_exists', 'permission_denied',
  'not_single_statement', 'not_read_only', 'function_not_allowed', 'access_denied', 'bytes_limit_exceeded',
]);
const retryable = (err: unknown): boolean =>
  !(err instanceof StepFailure && !err.retryable) && !isAppError(err) && !(err instanceof WarehouseError && PERMANENT_WAREHOUSE_ERRORS.has(err.reason));

export async function runStepWithRetries(deps: StepRunnerDeps, input: StepRunInput): Promise<StepState> {
  const { step, runSignal } = input;
  const policy = step.retry ?? input.retry;
  const started = deps.clock.now();
  const state: StepState = { id: step.id, type: step.type, status: 'RUNNING', attempt: 0, startTime: started.toISOString() };
  const finish = (status: StepState['status'], errorMessage?: string): StepState => {
    const end = deps.clock.now();
    Object.assign(state, { status, endTime: end.toISOString(), durationMs: end.getTime() - started.getTime() });
    if (errorMessage === undefined) delete state.errorMessage;
    else state.errorMessage = errorMessage;
    if (input.bytes) Object.assign(state, input.bytes());
    input.update({ ...state });
    return state;
  };

  for (let attempt = 1; ; attempt++) {
    let work: Promise<StepResult> | undefined;
    state.attempt = attempt;
    state.status = 'RUNNING';
    input.update({ ...state });
    const controller = new AbortController();
    const onRunAbort = (): void => controller.abort(runSignal.reason);
    if (runSignal.aborted) onRunAbort();
    runSignal.addEventListener('abort', onRunAbort, { once: true });
    const timer =
      step.timeout_minutes === undefined ? null : setTimeout(() => controller.abort(new StepTimeoutError(step.timeout_minutes ?? 0)), step.timeout_minutes * 60_000);
    try {
      work = runStep(step, { ...input.context, stepId: step.id, signal: controller.signal });
      const result = await raceAbort(work, controller.signal);
      if (result.rowsProcessed !== undefined) state.rowsProcessed = result.rowsProcessed;
      if (result.bytesProcessed !== undefined) state.bytesProcessed = result.bytesProcessed;
      return finish('COMPLETED');
    } catch (err) {
      // An aborted statement may still be finishing on the warehouse: let it end before a retry (or the
      // run's end) so a late INSERT can never land after its replacement.
      if (controller.signal.aborted && work) await settledWithin(work, deps.abortGraceMs ?? DEFAULT_ABORT_GRACE_MS);
      if (runSignal.aborted) return finish('CANCELLED', errorText(runSignal.reason));
      const timedOut = controller.signal.aborted && controller.signal.reason instanceof StepTimeoutError;
      // The step's error_message is tenant-visible (step logs, GET run): engine text goes through tenantErrorText.
      const message = timedOut ? errorText(controller.signal.reason) : tenantErrorText(err, input.context.render, runDayOf(input.context.params));
      if (attempt >= policy.attempts || (!timedOut && !retryable(err))) return finish('FAILED', message);
      state.errorMessage = `attempt ${attempt} failed: ${message}`;
      try {
        await deps.sleep(policy.backoff_seconds * 1000 * 2 ** (attempt - 1), runSignal);
      } catch {
        return finish('CANCELLED', errorText(runSignal.reason));
      }
    } finally {
      if (timer) clearTimeout(timer);
      runSignal.removeEventListener('abort', onRunAbort);
    }
  }
}
