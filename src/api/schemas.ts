import Joi from 'joi';
import { isIsoInstant, isUtcDay } from '../shared/clock';
import { PATH_SEGMENT_PATTERN, TENANT_ID_PATTERN, UUID_PATTERN } from '../shared/ids';

/** Path-parameter schemas shared by the route files. Provider and domain are case-insensitive in URLs. */
export const tenantIdParam = Joi.string().pattern(TENANT_ID_PATTERN).required();
export const segmentParam = Joi.string().lowercase().pattern(PATH_SEGMENT_PATTERN).max(64).required();
export const runIdParam = Joi.string().lowercase().pattern(UUID_PATTERN).required();
export const idParam = Joi.string().pattern(/^[A-Za-z0-9_-]{1,64}$/).required();

export const tenantParams = Joi.object({ tenant_id: tenantIdParam });

export const templateParams = Joi.object({
  tenant_id: tenantIdParam,
  provider: segmentParam,
  domain: segmentParam,
  template_name: segmentParam,
});

/** Run parameters: any keys; the template's declarations decide what is allowed (422 names the field). */
export const runParametersBody = Joi.object()
  .pattern(Joi.string().max(64), Joi.alternatives(Joi.string().max(4096), Joi.number(), Joi.boolean(), Joi.valid(null)))
  .description('Run parameters by name, as the template declares them, e.g. {"date": "2025-11-14"} for gcp/cost/billing_cost; omitted ones take their defaults');

export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/** A calendar day `YYYY-MM-DD` (2025-02-30 is 422, not 2025-03-02). Every route field that takes a day uses it. */
export const calendarDay = Joi.string()
  .custom((value: string, helpers) => (isUtcDay(value) ? value : helpers.error('any.invalid')))
  .messages({ 'any.invalid': '{{#label}} must be a calendar day YYYY-MM-DD' });

/**
 * An ISO 8601 day or date-time, as a Date; every route filter on a time uses it. Joi.date().iso() alone checks the
 * shape and lets Date roll an impossible day over (2025-02-31 → 2025-03-03); this refuses it with 422.
 */
export const isoInstant = Joi.date().iso()
  .custom((value: Date, helpers) => (isIsoInstant(String(helpers.original)) ? value : helpers.error('date.calendar')))
  .messages({ 'date.calendar': '{{#label}} must be a real day or time, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ' });
