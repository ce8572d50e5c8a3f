import { deleteDataStep } from './step-delete';
import { exportStep } from './step-export';
import { purgeRedisStep } from './redis-purge';
import { cancelRunsStep, disableSchedulesStep, suspendStep, tombstoneStep } from './steps-lifecycle';
import { cancelBackfillsStep, deleteWebhooksStep, disableWebhooksStep } from './steps-features';
import type { OffboardStep } from './types';

/**
 * The offboarding, in order. Names are recorded in the progress row, so they are a contract: rename none.
 * Features on top of tenants (backfills, webhooks) have their steps here too (steps-features.ts), doing nothing where
 * the feature is not wired; `withStep` adds more. A step added later runs on resumed offboardings too.
 */
export function defaultOffboardSteps(): OffboardStep[] {
  return [
    suspendStep, cancelBackfillsStep, cancelRunsStep, disableSchedulesStep, disableWebhooksStep, exportStep, deleteDataStep, deleteWebhooksStep,
    purgeRedisStep, tombstoneStep,
  ];
}

/** `steps` with `step` inserted right after the step named `after` (throws on an unknown name, so a typo fails at boot). */
export function withStep(steps: OffboardStep[], after: string, step: OffboardStep): OffboardStep[] {
  const at = steps.findIndex((s) => s.name === after);
  if (at < 0) throw new Error(`No offboarding step named '${after}'`);
  return [...steps.slice(0, at + 1), step, ...steps.slice(at + 1)];
}
