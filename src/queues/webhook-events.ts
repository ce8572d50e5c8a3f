import type { Clock } from '../shared/clock';
import { utcDay, utcMonth } from '../shared/clock';
import type { Logger } from '../shared/logger';
import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import type { Run } from '../pipelines/run';
import type { DeliveryLog } from '../webhooks/delivery-log';
import { newDeliveryId, newEventId } from '../webhooks/delivery-log';
import type { WebhookEvent } from '../webhooks/types';
import type { WebhookStore } from '../webhooks/webhook-store';
import type { PipelineRunJob, RunStatus } from './pipeline-runs';
import { enqueueWebhookDelivery } from './webhook-deliveries';
import type { WebhookDeliveriesQueue, WebhookRetryPolicy } from './webhook-deliveries';

/**
 * Turns platform events into delivery jobs, one per subscribed active endpoint. Emitting never fails
 * its caller (a run's end, a refused trigger, a scheduler tick): errors are logged and swallowed, and
 * the cost is one HGETALL when the tenant has no endpoint for the event (a run's end reads the run only when one has).
 */

export interface WebhookEmitterDeps {
  redis: RedisClient;
  keys: RedisKeys;
  store: WebhookStore;
  log: DeliveryLog;
  queue(): WebhookDeliveriesQueue;
  policy: WebhookRetryPolicy;
  clock: Clock;
  logger: Logger;
  /** The live run record (times, error), null when Redis no longer holds it. */
  getRun(tenantId: string, runId: string): Promise<Run | null>;
}

export interface WebhookEmitter {
  /** Enqueues one delivery per subscribed endpoint; returns how many (0 on error, which is logged). */
  emit(tenantId: string, type: WebhookEvent, data: Record<string, unknown>): Promise<number>;
  /** run.completed / run.failed / run.cancelled, from the run finaliser. */
  notifyRunFinished(job: PipelineRunJob, status: RunStatus, durationMs: number | null): Promise<void>;
  /** quota.exhausted when admission refused a run for the daily or monthly quota; once per tenant and UTC day / month. */
  notifyQuotaExhausted(tenantId: string, code: string): Promise<void>;
  /** schedule.misfired when a scheduled fire came later than the grace allows. */
  notifyScheduleMisfired(tenantId: string, data: Record<string, unknown>): Promise<void>;
}

const RUN_EVENT: Partial<Record<RunStatus, WebhookEvent>> = { COMPLETED: 'run.completed', FAILED: 'run.failed', CANCELLED: 'run.cancelled' };
const DAY_SECONDS = 86_400;

export function createWebhookEmitter(deps: WebhookEmitterDeps): WebhookEmitter {
  /** `data` may be a function: it is called only when someone subscribes (a run's details cost a Redis read). */
  const emit = async (tenantId: string, type: WebhookEvent, data: Record<string, unknown> | (() => Promise<Record<string, unknown>>)): Promise<number> => {
    try {
      const endpoints = await deps.store.subscribers(tenantId, type);
      if (endpoints.length === 0) return 0;
      const now = deps.clock.now();
      const body = JSON.stringify({ id: newEventId(), type, created: Math.floor(now.getTime() / 1000), data: typeof data === 'function' ? await data() : data });
      for (const endpoint of endpoints) {
        const deliveryId = newDeliveryId();
        await deps.log.create(tenantId, { deliveryId, webhookId: endpoint.webhookId, eventType: type, body }, now);
        await enqueueWebhookDelivery(deps.queue(), { tenantId, webhookId: endpoint.webhookId, deliveryId, eventType: type, body }, deps.policy);
      }
      return endpoints.length;
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message, tenant_id: tenantId, event: type }, 'webhook event not enqueued');
      return 0;
    }
  };

  return {
    emit,
    async notifyRunFinished(job, status, durationMs) {
      const type = RUN_EVENT[status];
      if (!type) return;
      try {
        // The run's times and error are read only when the tenant has an endpoint for the event (most have none).
        await emit(job.tenantId, type, async () => {
          const run = await deps.getRun(job.tenantId, job.pipelineLoggingId);
          return {
            pipeline_logging_id: job.pipelineLoggingId,
            pipeline_id: job.pipelineId,
            tenant_id: job.tenantId,
            status,
            trigger_type: job.triggerType,
            ...(job.configId ? { config_id: job.configId } : {}),
            created_at: run?.createdAt ?? job.admittedAt,
            start_time: run?.startTime ?? null,
            end_time: run?.endTime ?? null,
            duration_ms: run?.durationMs ?? durationMs,
            error_message: run?.errorMessage ?? null,
          };
        });
      } catch (err) {
        deps.logger.warn({ err: (err as Error).message, pipeline_logging_id: job.pipelineLoggingId }, 'run webhook not enqueued');
      }
    },
    async notifyQuotaExhausted(tenantId, code) {
      const monthly = code === 'MONTHLY_QUOTA_EXCEEDED';
      if (!monthly && code !== 'DAILY_QUOTA_EXCEEDED') return;
      try {
        const now = deps.clock.now();
        const period = monthly ? `m:${utcMonth(now)}` : `d:${utcDay(now)}`;
        // Once per tenant and period, across every process: the first SET NX wins, the key outlives its period.
        const first = await deps.redis.set(deps.keys.webhookQuotaNotified(tenantId, period), '1', 'EX', (monthly ? 32 : 2) * DAY_SECONDS, 'NX');
        if (first !== 'OK') return;
        await emit(tenantId, 'quota.exhausted', {
          tenant_id: tenantId,
          quota: monthly ? 'monthly' : 'daily',
          code,
          period: monthly ? utcMonth(now) : utcDay(now),
        });
      } catch (err) {
        deps.logger.warn({ err: (err as Error).message, tenant_id: tenantId }, 'quota webhook not enqueued');
      }
    },
    async notifyScheduleMisfired(tenantId, data) {
      await emit(tenantId, 'schedule.misfired', { tenant_id: tenantId, ...data });
    },
  };
}
