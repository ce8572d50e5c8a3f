import { Queue } from 'bullmq';
import type { JobsOptions } from 'bullmq';
import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';

/**
 * The batch-dispatch queue (issue 15): what moves backfills and fan-outs forward. Runs themselves start only
 * through admission (createTriggerRun); these jobs only decide when to ask.
 *   - `batch-tick` (repeatable): looks at every backfill whose wake time passed (quota reset, lost hook).
 *   - `dispatch-backfill`: one backfill admits as many next dates as its limits allow (on create).
 *   - `dispatch-tenant-backfills`: a run of the tenant ended; its ACTIVE backfills, oldest first, each get a pass.
 *   - `fanout-start` (delayed): one tenant's run of a fan-out, through that tenant's admission at its start time.
 */
export const BATCH_DISPATCH_QUEUE = 'batch-dispatch';

/** How often the tick looks at the index of active backfills (real time; the decisions use the injected clock). */
export const BATCH_TICK_EVERY_MS = 30_000;

export type BatchDispatchJob =
  | { kind: 'tick' }
  | { kind: 'dispatch-backfill'; tenantId: string; backfillId: string }
  | { kind: 'dispatch-tenant-backfills'; tenantId: string }
  | { kind: 'fanout-start'; fanoutId: string; tenantId: string };

export type BatchDispatchQueue = Queue<BatchDispatchJob>;

const BOUNDED: JobsOptions = { attempts: 3, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { count: 500 }, removeOnFail: { count: 1000 } };

export function createBatchDispatchQueue(connection: RedisClient, keys: RedisKeys): BatchDispatchQueue {
  return new Queue<BatchDispatchJob>(BATCH_DISPATCH_QUEUE, { connection, prefix: keys.bullPrefix });
}

/**
 * At most one waiting and one running job per deduplication id: asks while one waits are that job; asks while one
 * runs leave exactly one more to run after it (BullMQ `keepLastIfActive`), so an ask is never lost to a pass that
 * already read the state, and K asks never cost K jobs.
 */
const collapsing = (id: string): JobsOptions => ({ ...BOUNDED, deduplication: { id, keepLastIfActive: true } });

/** Asks for a dispatch pass of one backfill (its create). */
export async function enqueueBackfillDispatch(queue: BatchDispatchQueue, tenantId: string, backfillId: string): Promise<void> {
  await queue.add('dispatch-backfill', { kind: 'dispatch-backfill', tenantId, backfillId }, collapsing(`backfill:${tenantId}:${backfillId}`));
}

/** Asks for a pass over every ACTIVE backfill of the tenant (a run of it ended): one job per tenant, however many ask. */
export async function enqueueTenantBackfillsDispatch(queue: BatchDispatchQueue, tenantId: string): Promise<void> {
  await queue.add('dispatch-tenant-backfills', { kind: 'dispatch-tenant-backfills', tenantId }, collapsing(`tenant-backfills:${tenantId}`));
}

/**
 * One tenant's start of a fan-out, `delayMs` from now. The job id names the (fan-out, tenant), so adding it twice
 * (a retried create) is a no-op; the run id is derived from the same pair, so a re-delivered job admits nothing twice.
 */
export async function enqueueFanoutStart(queue: BatchDispatchQueue, fanoutId: string, tenantId: string, delayMs: number): Promise<void> {
  await queue.add('fanout-start', { kind: 'fanout-start', fanoutId, tenantId }, { ...BOUNDED, jobId: fanoutStartJobId(fanoutId, tenantId), delay: Math.max(0, Math.round(delayMs)) });
}

/** Takes a cancelled tenant's start job out of the queue; one already running (locked) stays and finds the tenant cancelled. */
export async function removeFanoutStart(queue: BatchDispatchQueue, fanoutId: string, tenantId: string): Promise<void> {
  await queue.remove(fanoutStartJobId(fanoutId, tenantId)).catch(() => undefined);
}

const fanoutStartJobId = (fanoutId: string, tenantId: string): string => `fanout-${fanoutId}-${tenantId}`;

/** Installs the repeatable tick (idempotent; every scheduler process may call it at boot). */
export async function syncBatchTick(queue: BatchDispatchQueue, everyMs = BATCH_TICK_EVERY_MS): Promise<void> {
  await queue.upsertJobScheduler('batch-tick', { every: everyMs }, { name: 'batch-tick', data: { kind: 'tick' }, opts: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 500 } } });
}
