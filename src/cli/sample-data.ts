/**
 * Loads realistic sample GCP billing export rows into a tenant's dataset, so that
 * `gcp/cost/billing_cost` has data to process on the embedded default warehouse.
 *
 *   npm run sample-data -- --tenant acme_corp [--days 30] [--rows-per-day 500] [--seed 42] [--end-date YYYY-MM-DD] [--append]
 *
 * With WAREHOUSE=duckdb the file is locked by a running server: stop it first (or use the admin endpoint).
 */
import { parseArgs } from 'node:util';
import dotenv from 'dotenv';
import { SingleBar, Presets } from 'cli-progress';
import { loadConfig } from '../config';
import { createLogger } from '../shared/logger';
import { TENANT_ID_PATTERN } from '../shared/ids';
import { createWarehouse } from '../warehouse';
import { loadSampleBillingData } from '../pipelines/sample-billing';

const USAGE = 'usage: npm run sample-data -- --tenant <tenant_id> [--days 30] [--rows-per-day 500] [--seed 42] [--end-date YYYY-MM-DD] [--append]';

function positiveInt(name: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name} must be an integer between 1 and ${max}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      tenant: { type: 'string' },
      days: { type: 'string' },
      'rows-per-day': { type: 'string' },
      seed: { type: 'string' },
      'end-date': { type: 'string' },
      append: { type: 'boolean', default: false },
    },
  });
  const tenant = values.tenant;
  if (!tenant || !TENANT_ID_PATTERN.test(tenant)) throw new Error(`--tenant is required and must match ${TENANT_ID_PATTERN.source}\n${USAGE}`);
  const days = positiveInt('days', values.days, 30, 3660);
  const rowsPerDay = positiveInt('rows-per-day', values['rows-per-day'], 500, 1_000_000);
  const seed = values.seed === undefined ? 42 : Number(values.seed);
  if (!Number.isInteger(seed)) throw new Error('--seed must be an integer');
  const endDate = values['end-date'];
  if (endDate !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(endDate)) throw new Error('--end-date must be YYYY-MM-DD');

  dotenv.config({ quiet: true });
  const config = loadConfig(process.env);
  const logger = createLogger({ level: 'warn' });
  const warehouse = await createWarehouse(config.warehouse, { dataDir: config.dataDir, logger });
  const bar = new SingleBar({ format: 'sample billing rows [{bar}] {percentage}% | {value}/{total} rows | ETA {eta}s' }, Presets.shades_classic);
  bar.start(days * rowsPerDay, 0);
  try {
    const result = await loadSampleBillingData(
      warehouse,
      tenant,
      { days, rowsPerDay, seed, append: values.append, ...(endDate ? { endDate } : {}) },
      (p) => bar.update(p.rowsWritten),
    );
    bar.stop();
    process.stdout.write(`Loaded ${result.rows} rows into ${result.table} (${result.fromDate} .. ${result.toDate}, ${config.warehouse.kind}).\n`);
  } finally {
    bar.stop();
    await warehouse.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
