import type { StepDef } from '../types';
import { runDataQualityStep } from './data-quality';
import { runDryrunStep } from './dryrun';
import { runQueryStep } from './query';
import type { StepContext, StepResult } from './context';

export type { StepContext, StepResult } from './context';
export { StepFailure } from './context';

/** One processor per step type; adding a type means a schema entry in template-schema.ts and a case here. */
export function runStep(step: StepDef, ctx: StepContext): Promise<StepResult> {
  switch (step.type) {
    case 'query':
      return runQueryStep(step, ctx);
    case 'data_quality':
      return runDataQualityStep(step, ctx);
    case 'dryrun':
      return runDryrunStep(ctx);
  }
}
