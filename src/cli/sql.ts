/**
 * `npm run sql -- "<query>"`: runs a read-only query (the guide's SQL, backtick references and all) against the
 * configured warehouse. With the server running it goes through `POST /api/v1/admin/warehouse/query` (DuckDB allows one
 * process per file); otherwise it opens the warehouse directly.
 */
import 'dotenv/config';
import fs from 'node:fs';
import { loadConfig } from '../config';
import { silentLogger } from '../shared/logger';
import { createWarehouse } from '../warehouse';

async function main(): Promise<void> {
  const sql = process.argv.slice(2).join(' ').trim();
  if (sql === '') {
    process.stderr.write('usage: npm run sql -- "SELECT …"\n');
    process.exit(2);
  }
  const config = loadConfig(process.env);
  const adminKey = config.auth.adminApiKey ?? (fs.existsSync(config.auth.adminKeyPath) ? fs.readFileSync(config.auth.adminKeyPath, 'utf8').trim() : '');
  const viaServer = await fetch(`http://127.0.0.1:${config.port}/api/v1/admin/warehouse/query`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Admin-Key': adminKey },
    body: JSON.stringify({ sql }),
  }).catch(() => null);
  let rows: unknown[];
  if (viaServer) {
    const body = (await viaServer.json()) as { rows?: unknown[]; detail?: string };
    if (!viaServer.ok) {
      process.stderr.write(`${viaServer.status}: ${body.detail ?? 'query failed'}\n`);
      process.exit(1);
    }
    rows = body.rows ?? [];
  } else {
    const warehouse = await createWarehouse(config.warehouse, { dataDir: config.dataDir, logger: silentLogger() });
    try {
      rows = (await warehouse.query(sql)).rows;
    } finally {
      await warehouse.close();
    }
  }
  console.table(rows);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
