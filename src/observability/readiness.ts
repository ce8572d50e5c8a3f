/**
 * The readiness answer, one definition for every process: the API's `/health/ready` and the health listener
 * of worker and scheduler processes say the same thing in the same shape.
 */
export type ReadinessChecks = Record<string, boolean>;

export interface ReadinessSource {
  /** Each dependency the process needs (Redis, the warehouse) and whether it answers now. */
  readiness(): Promise<ReadinessChecks>;
  /** True once a graceful stop has begun: the orchestrator should stop routing work here. */
  isShuttingDown(): boolean;
}

export interface ReadinessReport {
  httpStatus: 200 | 503;
  body: { status: 'ready' | 'not_ready' | 'shutting_down'; checks?: ReadinessChecks };
}

export async function readinessReport(source: ReadinessSource): Promise<ReadinessReport> {
  if (source.isShuttingDown()) return { httpStatus: 503, body: { status: 'shutting_down' } };
  const checks = await source.readiness();
  const ready = Object.values(checks).every(Boolean);
  return { httpStatus: ready ? 200 : 503, body: { status: ready ? 'ready' : 'not_ready', checks } };
}
