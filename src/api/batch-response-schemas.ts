import Joi from 'joi';

/** Answers of the backfill and fan-out routes (issue 15); kept beside response-schemas.ts so that file stays small. */
const counts = Joi.object().pattern(Joi.string(), Joi.number().integer().min(0)).required();
const id = Joi.string().guid().required();

export const backfillCreatedAnswer = Joi.object({
  backfill_id: id,
  status: Joi.string().valid('ACTIVE', 'COMPLETED', 'CANCELLED').required(),
  dates_total: Joi.number().integer().min(1).required(),
  dates_to_run: Joi.number().integer().min(0).required(),
  dates_skipped: Joi.number().integer().min(0).required(),
  max_parallel: Joi.number().integer().min(1).required(),
  estimated_days: Joi.number().integer().min(0).required().description('UTC days the runs take at the plan’s daily quota, counting what is left of today’s, and no more in a month than the monthly quota leaves'),
});

export const backfillAnswer = Joi.object({
  backfill_id: id,
  tenant_id: Joi.string().required(),
  pipeline_id: Joi.string().required(),
  status: Joi.string().valid('ACTIVE', 'COMPLETED', 'CANCELLED').required(),
  start_date: Joi.string().required(),
  end_date: Joi.string().required(),
  parameters: Joi.object().unknown(true).required(),
  max_parallel: Joi.number().integer().required(),
  skip_completed: Joi.boolean().required(),
  dates_total: Joi.number().integer().required(),
  counts: counts.description('Dates per status: WAITING, PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, SKIPPED, REFUSED'),
  waiting_until: Joi.string().isoDate().allow(null).required().description('Set after DAILY_QUOTA_EXCEEDED: the next UTC midnight'),
  last_refusal: Joi.string().allow(null).required(),
  created_at: Joi.string().isoDate().required(),
  updated_at: Joi.string().isoDate().required(),
  dates: Joi.array()
    .items(Joi.object({ date: Joi.string().required(), status: Joi.string().required(), run_id: Joi.string().guid().allow(null).required(), refusal_code: Joi.string().allow(null).required() }))
    .required(),
});

export const fanoutCreatedAnswer = Joi.object({
  fanout_id: id,
  window: Joi.string().required(),
  tenants_total: Joi.number().integer().min(0).required(),
  counts,
});

export const fanoutAnswer = Joi.object({
  fanout_id: id,
  template: Joi.string().required(),
  parameters: Joi.object().unknown(true).required(),
  selector: Joi.object().unknown(true).required(),
  window: Joi.string().required(),
  spread_seconds: Joi.number().integer().min(0).required(),
  created_at: Joi.string().isoDate().required(),
  tenants_total: Joi.number().integer().min(0).required(),
  counts: counts.description('Tenants per state: SCHEDULED, REFUSED, CANCELLED, or the admitted run’s status'),
  tenants: Joi.array()
    .items(
      Joi.object({
        tenant_id: Joi.string().required(),
        state: Joi.string().valid('SCHEDULED', 'ADMITTED', 'REFUSED', 'CANCELLED').required(),
        start_at: Joi.string().isoDate().required(),
        run_id: Joi.string().guid().allow(null).required(),
        run_status: Joi.string().allow(null).required().description('The admitted run’s status; null when no record of the run is left, UNKNOWN when it could not be read this time'),
        code: Joi.string().allow(null).required(),
      }),
    )
    .required(),
});
