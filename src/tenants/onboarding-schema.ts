import Joi from 'joi';
import { validationError } from '../shared/errors';
import { RESERVED_TENANT_IDS, TENANT_ID_PATTERN } from '../shared/ids';
import type { Plan, PlanCatalog } from './plans';

/** Request body of POST /tenants/onboard and /tenants/dryrun; also feeds the OpenAPI document. */
export const onboardBodySchema = Joi.object({
  tenant_id: Joi.string()
    .pattern(TENANT_ID_PATTERN)
    .required()
    .messages({ 'string.pattern.base': 'tenant_id must be 3-50 characters of a-z, 0-9 and _' })
    .description(`Also the dataset name, so never a reserved name (${RESERVED_TENANT_IDS.join(', ')}, a leading _ or the DuckDB file's catalog name): 422 RESERVED_TENANT_ID`),
  company_name: Joi.string().trim().min(1).max(200).required(),
  admin_email: Joi.string().trim().email({ tlds: { allow: false } }).max(254).required(),
  subscription_plan: Joi.string().trim().pattern(/^[A-Za-z][A-Za-z0-9_]*$/).uppercase().default('STARTER')
    .description('Plan name, case-insensitive (STARTER, PROFESSIONAL, SCALE)'),
  force_recreate_dataset: Joi.boolean().default(false),
  force_recreate_tables: Joi.boolean().default(false),
}).label('OnboardRequest');

export interface OnboardRequest {
  tenant_id: string;
  company_name: string;
  admin_email: string;
  subscription_plan?: string;
  force_recreate_dataset?: boolean;
  force_recreate_tables?: boolean;
}

export type ValidOnboardRequest = Required<OnboardRequest>;

/** Validates a raw body with onboardBodySchema and resolves the plan; throws 422 with field errors. */
export function validateOnboardRequest(deps: { plans: PlanCatalog }, body: unknown): { req: ValidOnboardRequest; plan: Plan } {
  const { value, error } = onboardBodySchema.validate(body, { abortEarly: false, stripUnknown: true });
  if (error) throw validationError(error.details.map((d) => ({ field: d.path.join('.'), message: d.message })));
  const req = value as ValidOnboardRequest;
  const plan = deps.plans.get(req.subscription_plan);
  if (!plan) {
    throw validationError([{ field: 'subscription_plan', message: `Unknown plan '${req.subscription_plan}'; known: ${deps.plans.names().join(', ')}` }]);
  }
  return { req, plan };
}

