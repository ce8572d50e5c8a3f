import Joi from 'joi';
import type { CustomHelpers, ErrorReport } from 'joi';
import { CronError, isValidTimezone, parseCron } from './cron';
import { MISFIRE_POLICIES, OVERLAP_POLICIES } from './types';
import type { MisfirePolicy, OverlapPolicy } from './types';
import { validationError } from '../shared/errors';

/**
 * Request bodies of the schedule routes (guide §5). Provider and domain are accepted in any case
 * ("GCP", "COST") and stored lower-case, like the template path. The same schemas validate in the
 * store and feed the OpenAPI document.
 */
const cronRule = (value: string, helpers: CustomHelpers): string | ErrorReport => {
  try {
    parseCron(value);
    return value.trim().split(/\s+/).join(' ');
  } catch (err) {
    const reason = err instanceof CronError ? err.message : 'invalid';
    return helpers.message({ custom: `"schedule_cron" is not a valid 5-field cron expression: ${reason}` });
  }
};

const timezoneRule = (value: string, helpers: CustomHelpers): string | ErrorReport =>
  isValidTimezone(value) ? value : helpers.message({ custom: `"timezone" must be an IANA time zone such as America/New_York, got "${value}"` });

const segment = (label: string): Joi.StringSchema =>
  Joi.string()
    .trim()
    .lowercase()
    .max(100)
    .pattern(/^[a-z0-9_]+$/)
    .messages({ 'string.pattern.base': `"${label}" may contain only letters, digits and underscores` });

const fields = {
  provider: segment('provider'),
  domain: segment('domain'),
  pipeline_template: segment('pipeline_template'),
  schedule_cron: Joi.string().trim().max(200).custom(cronRule),
  timezone: Joi.string().trim().max(64).custom(timezoneRule),
  is_active: Joi.boolean(),
  parameters: Joi.object().unknown(true),
  overlap_policy: Joi.string().trim().lowercase().valid(...OVERLAP_POLICIES),
  misfire_policy: Joi.string().trim().lowercase().valid(...MISFIRE_POLICIES),
};

export const createScheduleSchema = Joi.object({
  provider: fields.provider.required(),
  domain: fields.domain.required(),
  pipeline_template: fields.pipeline_template.required(),
  schedule_cron: fields.schedule_cron.required(),
  timezone: fields.timezone.default('UTC'),
  is_active: fields.is_active.default(true),
  parameters: fields.parameters.default({}),
  overlap_policy: fields.overlap_policy.default('skip'),
  misfire_policy: fields.misfire_policy.default('run_once'),
}).prefs({ convert: true, abortEarly: false, stripUnknown: false });

export const patchScheduleSchema = Joi.object(fields)
  .min(1)
  .messages({ 'object.min': 'the body must change at least one field' }).prefs({ convert: true, abortEarly: false, stripUnknown: false });

export interface CreateScheduleInput {
  provider: string;
  domain: string;
  pipeline_template: string;
  schedule_cron: string;
  timezone: string;
  is_active: boolean;
  parameters: Record<string, unknown>;
  overlap_policy: OverlapPolicy;
  misfire_policy: MisfirePolicy;
}

export type PatchScheduleInput = Partial<CreateScheduleInput>;

/** Validates a body against one of the schemas; 422 VALIDATION_ERROR with one entry per field. */
export function validateScheduleBody<T>(schema: Joi.ObjectSchema, body: unknown): T {
  const { value, error } = schema.validate(body ?? {});
  if (error) {
    throw validationError(
      error.details.map((d) => ({ field: d.path.join('.') || 'body', message: d.message })),
      'Invalid schedule configuration',
    );
  }
  return value as T;
}
