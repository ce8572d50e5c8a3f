import type { Config } from '../config';
import type { Metrics } from '../observability/metrics';
import type { Logger } from '../shared/logger';
import type { Warehouse } from '../warehouse/types';
import { PendingWork } from '../shared/pending-work';
import type { CostGuard } from '../pipelines/billed-warehouse';
import type { BytesBudget } from '../tenants/bytes-budget';

/**
 * The BigQuery cost guardrails of pipeline steps (README "Cost guardrails"): the tenant's daily bytes budget in
 * Redis, the price for `estimated_cost_usd`, and the per-plan bytes-billed metric. None on DuckDB, which has
 * no byte figures to enforce or record.
 */
export function buildCostGuard(deps: {
  config: Config;
  warehouse: Warehouse;
  logger: Logger;
  metrics: Metrics;
}, budget: BytesBudget): CostGuard | null {
  if (deps.warehouse.kind !== 'bigquery') return null;
  return {
    budget,
    pricePerTibUsd: deps.config.warehouse.pricePerTibUsd,
    // The plan label comes with the reservation (the reserve script reads it from the cached profile): no read per job.
    onBilled: (_tenantId, bytes, plan) => deps.metrics.bytesBilled.inc({ plan: plan ?? 'unknown' }, bytes),
    onSettleError: (err, tenantId) => deps.logger.warn({ err, tenant_id: tenantId }, 'bytes budget: settle failed; the reservation counts as spent (its whole grant) when its lease passes'),
    late: new PendingWork(),
  };
}
