/**
 * `npm run sql -- "<query>"`: runs one read-only SELECT (the guide's SQL, backtick references and all) against the
 * configured warehouse, through the same sandbox as `POST /api/v1/admin/warehouse/query`. With the server running
 * it goes through that endpoint (DuckDB allows one process per file), at the address the server recorded in
 * DATA_DIR/server.json (any PORT) or else HOST:PORT; otherwise it opens the warehouse directly
 * and calls the same routine the endpoint does. A refusal prints `422 <CODE>: <detail>` and exits 1.
 */
import 'dotenv/config';
import { loadConfig } from '../config';
import type { Config } from '../config';
import { isAppError } from '../shared/errors';
import { silentLogger } from '../shared/logger';
import { createWarehouse } from '../warehouse';
import { OPERATOR_QUERY_MAX_ROWS, runOperatorQuery } from '../warehouse/operator-query';
import { errorLine, explainLockedWarehouse, postToServer } from './server-call';

interface Answer {
  rows: unknown[];
  truncated: boolean;
}

async function viaServer(config: Config, sql: string): Promise<Answer | null> {
  const call = await postToServer(config, '/api/v1/admin/warehouse/query', { sql });
  if (!call) return null;
  const { answer } = call;
  if (answer.status !== 200) throw new Error(errorLine(answer));
  return { rows: Array.isArray(answer.body.rows) ? answer.body.rows : [], truncated: answer.body.truncated === true };
}

async function direct(config: Config, sql: string): Promise<Answer> {
  const warehouse = await createWarehouse(config.warehouse, { dataDir: config.dataDir, logger: silentLogger() }).catch((err: unknown) => {
    throw explainLockedWarehouse(config, err);
  });
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
  if (sql === '' || sql === '--help' || sql === '-h') {
    process.stderr.write('usage: npm run sql -- "SELECT …"   (one read-only SELECT; the guide\'s backtick references work)\n');
    process.exit(sql === '' ? 2 : 0);
  }
  const config = loadConfig(process.env);
  const answer = (await viaServer(config, sql)) ?? (await direct(config, sql));
  if (answer.rows.length === 0) process.stdout.write('(0 rows)\n');
  else console.table(answer.rows);
  if (answer.truncated) {
    process.stderr.write(`(only the first ${answer.rows.length} rows are shown: the answer stops at ${OPERATOR_QUERY_MAX_ROWS} rows or ADMIN_QUERY_MAX_RESULT_BYTES)\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
