import fs from 'node:fs';
import path from 'node:path';
import Joi from 'joi';
import YAML from 'yaml';

/** A subscription plan's limits (configs/plans.yml). */
export interface Plan {
  name: string;
  dailyLimit: number;
  monthlyLimit: number;
  concurrentLimit: number;
  teamLimit: number;
  providerLimit: number;
  /** Dates one backfill may cover (issue 15). */
  backfillMaxDays: number;
  /** Backfills the tenant may hold ACTIVE at once (each waits in Redis until its last date ran). */
  backfillMaxActive: number;
  /** Webhook endpoints the tenant may register (0 when the plan file does not say). */
  webhookEndpoints: number;
  /** BigQuery `maximumBytesBilled` of one query job of a run. */
  maxBytesBilledPerQuery: number;
  /** Bytes the tenant's query steps may bill per UTC day (BigQuery). */
  dailyBytesBudget: number;
}

export interface PlanCatalog {
  /** Case-insensitive lookup; undefined for an unknown plan. */
  get(name: string): Plan | undefined;
  /** The plan used when onboarding names none. */
  readonly defaultPlan: Plan;
  /** Upper-case plan names in file order. */
  names(): string[];
}

const limit = Joi.number().integer().min(0);
/** A plan that names no `backfill_max_days` allows a month. */
export const DEFAULT_BACKFILL_MAX_DAYS = 31;
/** A plan that names no `backfill_max_active`: the smallest shipped plan's (configs/plans.yml STARTER). */
export const DEFAULT_BACKFILL_MAX_ACTIVE = 3;

const BYTE_UNITS: Record<string, number> = { B: 1, KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3, TIB: 1024 ** 4 };
/** A byte size: an integer, or `<number> KiB|MiB|GiB|TiB` (powers of 1024). */
const byteSize = Joi.alternatives(
  Joi.number().integer().min(0),
  Joi.string()
    .pattern(/^\s*\d+(\.\d+)?\s*(B|KiB|MiB|GiB|TiB)\s*$/i)
    .custom((text: string) => {
      const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(text);
      return Math.round(Number(m?.[1]) * (BYTE_UNITS[(m?.[2] ?? 'B').toUpperCase()] ?? 1));
    }),
);
/** Byte limits of a plan that names none: the smallest shipped plan's (configs/plans.yml STARTER). */
export const DEFAULT_MAX_BYTES_BILLED_PER_QUERY = 10 * 1024 ** 3;
export const DEFAULT_DAILY_BYTES_BUDGET = 50 * 1024 ** 3;

const fileSchema = Joi.object({
  default: Joi.string().required(),
  plans: Joi.object()
    .pattern(
      Joi.string().pattern(/^[A-Za-z][A-Za-z0-9_]*$/),
      Joi.object({
        daily_limit: limit.required(),
        monthly_limit: limit,
        concurrent_limit: limit.required(),
        team_limit: limit.required(),
        provider_limit: limit.required(),
        backfill_max_days: limit.min(1),
        backfill_max_active: limit.min(1),
        webhook_endpoints: limit.default(0),
        max_bytes_billed_per_query: byteSize,
        daily_bytes_budget: byteSize,
      }),
    )
    .min(1)
    .required(),
});

interface PlansFile {
  default: string;
  plans: Record<string, { daily_limit: number; monthly_limit?: number; concurrent_limit: number; team_limit: number; provider_limit: number; backfill_max_days?: number; backfill_max_active?: number; webhook_endpoints: number; max_bytes_billed_per_query?: number; daily_bytes_budget?: number }>;
}

export class PlanConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanConfigError';
  }
}

/** Builds a catalog from the parsed YAML document; throws PlanConfigError naming what is wrong. */
export function parsePlans(document: unknown, source = 'plans.yml'): PlanCatalog {
  const { value, error } = fileSchema.validate(document, { abortEarly: false, convert: true });
  if (error) throw new PlanConfigError(`${source} is invalid: ${error.details.map((d) => d.message).join('; ')}`);
  const file = value as PlansFile;
  const plans = new Map<string, Plan>();
  for (const [rawName, p] of Object.entries(file.plans)) {
    const name = rawName.toUpperCase();
    if (plans.has(name)) throw new PlanConfigError(`${source} defines plan ${name} twice (names are case-insensitive)`);
    plans.set(name, {
      name,
      dailyLimit: p.daily_limit,
      monthlyLimit: p.monthly_limit ?? p.daily_limit * 30,
      concurrentLimit: p.concurrent_limit,
      teamLimit: p.team_limit,
      providerLimit: p.provider_limit,
      backfillMaxDays: p.backfill_max_days ?? DEFAULT_BACKFILL_MAX_DAYS,
      backfillMaxActive: p.backfill_max_active ?? DEFAULT_BACKFILL_MAX_ACTIVE,
      webhookEndpoints: p.webhook_endpoints,
      maxBytesBilledPerQuery: p.max_bytes_billed_per_query ?? DEFAULT_MAX_BYTES_BILLED_PER_QUERY,
      dailyBytesBudget: p.daily_bytes_budget ?? DEFAULT_DAILY_BYTES_BUDGET,
    });
  }
  const defaultPlan = plans.get(file.default.toUpperCase());
  if (!defaultPlan) throw new PlanConfigError(`${source}: default plan ${file.default} is not defined`);
  return {
    get: (name) => plans.get(name.toUpperCase()),
    defaultPlan,
    names: () => [...plans.keys()],
  };
}

/** Reads and validates `<configsDir>/plans.yml` once at boot. */
export function loadPlans(configsDir: string): PlanCatalog {
  const file = path.join(configsDir, 'plans.yml');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new PlanConfigError(`cannot read ${file}: ${(err as Error).message}`);
  }
  return parsePlans(YAML.parse(text) as unknown, file);
}
