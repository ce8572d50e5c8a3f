/**
 * Loads realistic sample GCP billing export rows into a tenant's dataset, so that
 * `gcp/cost/billing_cost` has data to process on the embedded default warehouse.
 *
 *   npm run sample-data -- --tenant acme_corp [--days 30] [--rows-per-day 500] [--seed 42] [--end-date YYYY-MM-DD] [--append]
 *
 * With a server running (found through DATA_DIR/server.json, else HOST:PORT) the rows are loaded through its
 * admin endpoint, since it holds the DuckDB file; otherwise the warehouse is opened directly. A tenant that is
 * not onboarded is refused with the onboarding call to make. The guide's day: `--end-date 2025-11-14`.
 */
import { parseArgs } from 'node:util';
import dotenv from 'dotenv';
import { SingleBar, Presets } from 'cli-progress';
import { loadConfig } from '../config';
import { createLogger } from '../shared/logger';
import { TENANT_ID_PATTERN } from '../shared/ids';
import { createWarehouse } from '../warehouse';
import type { Config } from '../config';
import { isUtcDay } from '../shared/clock';
import { SAMPLE_DAYS_MAX, loadSampleBillingData, sampleDaysProblem } from '../pipelines/sample-billing';
import type { SampleBillingOptions } from '../pipelines/sample-billing';
import { readProfile } from '../tenants/tenant-store';
import { WarehouseError } from '../warehouse/types';
import { errorLine, explainLockedWarehouse, notOnboarded, postToServer } from './server-call';

const USAGE = 'usage: npm run sample-data -- --tenant <tenant_id> [--days 30 (1–400)] [--rows-per-day 500] [--seed 42] [--end-date YYYY-MM-DD] [--append]';

function positiveInt(name: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name} must be an integer between 1 and ${max}`);
  return n;
}

interface LoadRequest {
  tenant: string;
  options: SampleBillingOptions;
}

/** The request, or null when only the usage was asked for (--help). An unknown option's error carries the usage. */
function parseRequest(): LoadRequest | null {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        tenant: { type: 'string' },
        days: { type: 'string' },
        'rows-per-day': { type: 'string' },
        seed: { type: 'string' },
        'end-date': { type: 'string' },
        append: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${USAGE}`);
  }
  const { values } = parsed;
  if (values.help) return null;
  const tenant = values.tenant;
  if (!tenant || !TENANT_ID_PATTERN.test(tenant)) throw new Error(`--tenant is required and must match ${TENANT_ID_PATTERN.source}\n${USAGE}`);
  const days = positiveInt('days', values.days, 30, SAMPLE_DAYS_MAX);
  const rowsPerDay = positiveInt('rows-per-day', values['rows-per-day'], 500, 1_000_000);
  const seed = values.seed === undefined ? 42 : Number(values.seed);
  if (!Number.isInteger(seed)) throw new Error('--seed must be an integer');
  const endDate = values['end-date'];
  if (endDate !== undefined && !isUtcDay(endDate)) throw new Error('--end-date must be a calendar day YYYY-MM-DD');
  const outOfRange = endDate === undefined ? null : sampleDaysProblem(endDate, days);
  if (outOfRange !== null) throw new Error(`--end-date: ${outOfRange.replace('end_date', 'the end date')}`);
  return { tenant, options: { days, rowsPerDay, seed, append: values.append, ...(endDate ? { endDate } : {}) } };
}

/** The running server loads the rows (it holds the DuckDB file); null when no server answers. */
async function viaServer(config: Config, { tenant, options }: LoadRequest): Promise<string | null> {
  const body = { days: options.days, rows_per_day: options.rowsPerDay, seed: options.seed, append: options.append, ...(options.endDate ? { end_date: options.endDate } : {}) };
  const call = await postToServer(config, `/api/v1/admin/tenants/${tenant}/sample-data`, body);
  if (!call) return null;
  const { answer } = call;
  if (answer.status === 404 && answer.body.code === 'TENANT_NOT_FOUND') throw notOnboarded(config, tenant);
  if (answer.status !== 200) throw new Error(errorLine(answer));
  const r = answer.body;
  return `Loaded ${String(r.rows)} rows into ${String(r.table)} (${String(r.from_date)} .. ${String(r.to_date)}, through the server at ${call.url}).`;
}

async function direct(config: Config, { tenant, options }: LoadRequest): Promise<string> {
  const logger = createLogger({ level: 'warn' });
  const warehouse = await createWarehouse(config.warehouse, { dataDir: config.dataDir, logger }).catch((err: unknown) => {
    throw explainLockedWarehouse(config, err);
  });
  try {
    // No central tables yet (never bootstrapped) means no tenant either.
    const profile = await readProfile(warehouse, tenant).catch((err: unknown) => {
      if (err instanceof WarehouseError && err.reason === 'not_found') return null;
      throw err;
    });
    if (!profile) throw notOnboarded(config, tenant);
    const bar = new SingleBar({ format: 'sample billing rows [{bar}] {percentage}% | {value}/{total} rows | ETA {eta}s' }, Presets.shades_classic);
    bar.start((options.days ?? 0) * (options.rowsPerDay ?? 0), 0);
    try {
      const result = await loadSampleBillingData(warehouse, tenant, options, (p) => bar.update(p.rowsWritten));
      bar.stop();
      return `Loaded ${result.rows} rows into ${result.table} (${result.fromDate} .. ${result.toDate}, ${config.warehouse.kind}).`;
    } finally {
      bar.stop();
    }
  } finally {
    await warehouse.close();
  }
}

async function main(): Promise<void> {
  const request = parseRequest();
  if (request === null) {
    process.stdout.write(`${USAGE}\nLoads synthetic GCP billing export rows into the tenant's gcp_billing_export_v1, replacing what it held unless --append.\n`);
    return;
  }
  dotenv.config({ quiet: true });
  const config = loadConfig(process.env);
  const line = (await viaServer(config, request)) ?? (await direct(config, request));
  process.stdout.write(`${line}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
