import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of SPEC §10. One registry per process (tests build their own). */
export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  runsTotal: Counter<'tenant_id' | 'template' | 'status'>;
  runDuration: Histogram<'template' | 'status'>;
  stepDuration: Histogram<'step_type' | 'status'>;
  queueDepth: Gauge<'queue' | 'state'>;
  quotaRejections: Counter<'reason'>;
  /** Audit rows recorded but not yet in the warehouse (the outbox; grows while the warehouse refuses them). */
  auditPending: Gauge;
  /** BigQuery bytes billed for pipeline steps, by plan only (never per tenant: README "Cost guardrails"). */
  bytesBilled: Counter<'plan'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    httpRequests: new Counter({ name: 'http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers }),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    runsTotal: new Counter({ name: 'pipeline_runs_total', help: 'Finished pipeline runs by tenant, template and status', labelNames: ['tenant_id', 'template', 'status'], registers }),
    runDuration: new Histogram({
      name: 'pipeline_run_duration_seconds',
      help: 'Pipeline run duration',
      labelNames: ['template', 'status'],
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
      registers,
    }),
    stepDuration: new Histogram({
      name: 'pipeline_step_duration_seconds',
      help: 'Pipeline step duration',
      labelNames: ['step_type', 'status'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
      registers,
    }),
    queueDepth: new Gauge({ name: 'queue_jobs', help: 'Jobs per queue and state', labelNames: ['queue', 'state'], registers }),
    quotaRejections: new Counter({ name: 'quota_rejections_total', help: 'Triggers refused by quota or limit', labelNames: ['reason'], registers }),
    auditPending: new Gauge({ name: 'audit_rows_pending', help: 'Audit rows waiting in the outbox for the warehouse', registers }),
    bytesBilled: new Counter({ name: 'warehouse_bytes_billed_total', help: 'BigQuery bytes billed for pipeline steps, by plan', labelNames: ['plan'], registers }),
  };
}
