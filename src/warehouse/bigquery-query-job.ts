import type { Logger } from '../shared/logger';
import { mapBigQueryError } from './bigquery-errors';
import type { BigQueryJobsRest } from './bigquery-jobs-rest';
import { collectResults } from './bigquery-results';
import type { CollectedResult, ResultCap } from './bigquery-results';
import { WarehouseError } from './types';

/**
 * The life of one inserted query job: its rows (and, asked for, its billing figures) are collected; a job given up
 * on is cancelled. Given up on means the signal aborted, or reading the job failed for any reason but the job's own
 * failure — a job BigQuery reports failed (bad SQL, a missing table, over `maximumBytesBilled`) billed nothing, but
 * one whose results or statistics could not be read may have run, or may still run, and bill. With billing asked
 * for, the error then carries what the job billed once BigQuery says it is done (README "Cost guardrails").
 */
export interface QueryJobDeps {
  jobs: BigQueryJobsRest;
  /** The adapter's retry of transient failures (withRetry). */
  call: <T>(fn: () => Promise<T>) => Promise<T>;
  logger?: Logger;
}

export interface QueryJobOptions {
  signal?: AbortSignal;
  cap?: ResultCap;
  /** Read the job's bytes billed (jobs.get) with its results, and say what a job given up on billed. */
  withBilling: boolean;
}

/** How long the billed bytes of a cancelled job are waited for, and how often its state is asked. */
const CANCELLED_WAIT_MS = 30_000;
const CANCELLED_POLL_MS = 500;

/** Reasons that are the job's own outcome: BigQuery does not bill a query that returns an error. */
const FAILED_WITHOUT_BILLING = new Set<WarehouseError['reason']>(['invalid_query', 'bytes_limit_exceeded', 'not_found']);

export async function runQueryJob(deps: QueryJobDeps, jobId: string, options: QueryJobOptions): Promise<CollectedResult> {
  const { signal, cap, withBilling } = options;
  const collect = async (): Promise<CollectedResult> => {
    const result = await collectResults((page) => deps.jobs.getQueryResults(jobId, page), deps.call, cap, signal);
    if (!withBilling) return result;
    const figures = await deps.call(() => deps.jobs.getJobBytes(jobId));
    if (figures.bytesBilled !== undefined) result.bytesBilled = figures.bytesBilled;
    if (result.bytesProcessed === undefined && figures.bytesProcessed !== undefined) result.bytesProcessed = figures.bytesProcessed;
    return result;
  };
  // Best effort: the job is cancelled server-side; the caller is released at once either way.
  const abandon = (): Promise<number | null> | undefined => {
    const cancelled = deps.jobs.cancel(jobId).catch((err: unknown) => deps.logger?.warn({ err, jobId }, 'bigquery: job cancel failed'));
    return withBilling ? cancelled.then(() => billedOnceDone(deps, jobId)) : undefined;
  };

  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => {
      const billedBytes = abandon();
      reject(new WarehouseError('Query cancelled', 'cancelled', billedBytes ? { billedBytes } : undefined));
    };
    if (!signal) return;
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  // Never settled without a signal; a rejection after the race was won by `collect` is handled here.
  aborted.catch(() => undefined);
  const reading = collect();
  try {
    return await Promise.race([reading, aborted]);
  } catch (err) {
    if (signal?.aborted) {
      // The abort won (or the read failed because of it): the abort's error carries the job's billing.
      return await aborted;
    }
    const mapped = mapBigQueryError(err);
    if (FAILED_WITHOUT_BILLING.has(mapped.reason)) throw mapped;
    const billedBytes = abandon();
    throw new WarehouseError(mapped.message, mapped.reason, { cause: mapped.cause ?? err, ...(billedBytes ? { billedBytes } : {}) });
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * What a job given up on billed: its statistics once it is DONE, asked every CANCELLED_POLL_MS for at most
 * CANCELLED_WAIT_MS. null when that cannot be learned (BigQuery cannot be asked, or the job is not done by then):
 * the caller must then assume the most the job may bill. Never rejects.
 */
async function billedOnceDone(deps: QueryJobDeps, jobId: string): Promise<number | null> {
  const deadline = Date.now() + CANCELLED_WAIT_MS;
  for (;;) {
    let figures: Awaited<ReturnType<BigQueryJobsRest['getJobBytes']>>;
    try {
      figures = await deps.call(() => deps.jobs.getJobBytes(jobId));
    } catch (err) {
      deps.logger?.warn({ err, jobId }, 'bigquery: billed bytes of an abandoned job unknown');
      return null;
    }
    if (figures.done) return figures.bytesBilled ?? 0;
    if (Date.now() >= deadline) {
      deps.logger?.warn({ jobId }, 'bigquery: an abandoned job was not done in time; its billed bytes are unknown');
      return null;
    }
    await new Promise((resolve) => setTimeout(resolve, CANCELLED_POLL_MS));
  }
}
