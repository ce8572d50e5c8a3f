/**
 * `npm run sql -- "<query>"`: runs one read-only SELECT (the guide's SQL, backtick references and all) against the
 * configured warehouse, through the same sandbox as `POST /api/v1/admin/warehouse/query`. With the server running
 * it goes through that endpoint (DuckDB allows one process per file); otherwise it opens the warehouse directly
 * and calls the same routine the endpoint does. A refusal prints `422 <CODE>: <detail>` and exits 1.
 */
import 'dotenv/config';
import fs from 'node:fs';
import { loadConfig } from '../config';
import type { Config } from '../config';
import { isAppError } from '../shared/errors';
import { silentLogger } from '../shared/logger';
import { createWarehouse } from '../warehouse';
import { OPERATOR_QUERY_MAX_ROWS, runOperatorQuery } from '../warehouse/operator-query';

interface Answer {
  rows: unknown[];
  truncated: boolean;
}

async function viaServer(config: Config, sql: string): Promise<Answer | null> {
  const adminKey = config.auth.adminApiKey ?? (fs.existsSync(config.auth.adminKeyPath) ? fs.readFileSync(config.auth.adminKeyPath, 'utf8').trim() : '');
  const res = await fetch(`http://127.0.0.1:${config.port}/api/v1/admin/warehouse/query`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Admin-Key': adminKey },
    body: JSON.stringify({ sql }),
  }).catch(() => null);
  if (!res) return null;
  const body = (await res.json()) as Partial<Answer> & { detail?: string; code?: string };
  if (!res.ok) throw new Error(`${res.status} ${body.code ?? 'ERROR'}: ${body.detail ?? 'query failed'}`);
  return { rows: body.rows ?? [], truncated: body.truncated === true };
}

async function direct(config: Config, sql: string): Promise<Answer> {
  const warehouse = await createWarehouse(config.warehouse, { dataDir: config.dataDir, logger: silentLogger() });
  try {
    return await runOperatorQuery(warehouse, sql, { maxRows: OPERATOR_QUERY_MAX_ROWS, ...config.adminQuery });
  } catch (err) {
    throw isAppError(err) ? new Error(`${err.status} ${err.code}: ${err.message}`) : err;
  } finally {
    await warehouse.close();
  }
}

async function main(): Promise<void> {
  const sql = process.argv.slice(2).join(' ').trim();
  if (sql === '') {
    process.stderr.write('usage: npm run sql -- "SELECT …"\n');
    process.exit(2);
  }
  const config = loadConfig(process.env);
  const answer = (await viaServer(config, sql)) ?? (await direct(config, sql));
  console.table(answer.rows);
  if (answer.truncated) process.stderr.write(`(only the first ${OPERATOR_QUERY_MAX_ROWS} rows are shown)\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
