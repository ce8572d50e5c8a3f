import type { Clock } from '../shared/clock';
import { pipelineIdOf } from '../shared/ids';
import type { RunParameters } from '../queues/pipeline-runs';
import type { Warehouse } from '../warehouse/types';
import { validateRunParameters } from './parameters';
import type { RenderOverrides } from './render';
import { templateNotFound } from './template-registry';
import type { TemplateRegistry } from './template-registry';
import { validatePipeline } from './validate';
import type { ValidationReport } from './validate';
import { costEstimate } from './validate-cost';
import type { BytesLimits, CostEstimate } from './validate-cost';

export interface RunValidation extends ValidationReport, CostEstimate {
  pipeline_id: string;
  parameters: RunParameters;
}

export interface ValidateRunDeps {
  warehouse: Warehouse;
  templates: TemplateRegistry;
  clock: Clock;
  /** The tenant's per-run tables (the GCP billing export), as a run of this template would get them. */
  overridesFor(tenantId: string, provider: string): Promise<RenderOverrides>;
  /** The tenant's byte limits and what is left today (README "Cost guardrails"). */
  bytesLimits?(tenantId: string): Promise<BytesLimits | null>;
}

/** The validate endpoint: checks the parameters, then renders and checks the run without executing it (BigQuery adds dry-run byte estimates). */
export async function validateRun(deps: ValidateRunDeps, tenantId: string, provider: string, domain: string, name: string, raw: Record<string, unknown>): Promise<RunValidation> {
  const template = deps.templates.get(provider, domain, name);
  if (!template) throw templateNotFound(provider, domain, name);
  const parameters = validateRunParameters(template, raw, deps.clock.now());
  const report = await validatePipeline({ warehouse: deps.warehouse }, template, parameters, { tenantId, ...(await deps.overridesFor(tenantId, provider)) });
  const limits = (await deps.bytesLimits?.(tenantId)) ?? null;
  return { pipeline_id: pipelineIdOf(tenantId, provider, domain, name), parameters, ...report, ...costEstimate(report, limits) };
}
