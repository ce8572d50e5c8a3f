import { MIN_BILLED_BYTES } from '../shared/bytes-limit';
import type { ValidationReport } from './validate';

/** A tenant's byte limits now (README "Cost guardrails"); null when its profile is not cached. */
export interface BytesLimits {
  maxBytesBilledPerQuery: number;
  dailyBytesBudget: number;
  remainingBytesToday: number;
}

/** What the validate answer says about cost: the run's estimate, and whether it would fit the plan's limits. */
export interface CostEstimate {
  /** Sum of the query steps' dry-run estimates; null when any is unknown (DuckDB has no byte estimate). */
  estimated_bytes: number | null;
  /** null when the estimate or the limits are unknown: DuckDB cannot enforce a cap by estimate. */
  fits_budget: boolean | null;
  max_bytes_billed_per_query: number | null;
  daily_bytes_budget: number | null;
  remaining_bytes_today: number | null;
}

export function costEstimate(report: ValidationReport, limits: BytesLimits | null): CostEstimate {
  const estimates = report.steps.filter((s) => s.type === 'query').map((s) => s.estimated_bytes);
  const known = estimates.every((e): e is number => typeof e === 'number') ? estimates : null;
  const total = known ? known.reduce((a, b) => a + b, 0) : null;
  let fits: boolean | null = null;
  if (known && total !== null && limits) {
    const eachFits = known.every((e) => Math.max(MIN_BILLED_BYTES, e) <= limits.maxBytesBilledPerQuery);
    const needed = known.reduce((a, e) => a + Math.max(MIN_BILLED_BYTES, e), 0);
    fits = eachFits && needed <= limits.remainingBytesToday;
  }
  return {
    estimated_bytes: total,
    fits_budget: fits,
    max_bytes_billed_per_query: limits?.maxBytesBilledPerQuery ?? null,
    daily_bytes_budget: limits?.dailyBytesBudget ?? null,
    remaining_bytes_today: limits?.remainingBytesToday ?? null,
  };
}
