import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { loadConfig } from '../../src/config';
import { silentLogger } from '../../src/shared/logger';
import { createWarehouse } from '../../src/warehouse';
import type { Warehouse } from '../../src/warehouse/types';
import { onboard, startTestSystem, waitForRun } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { sqlAttacks } from './sql-attacks';

/**
 * `POST /api/v1/admin/warehouse/query` on the embedded warehouse laid out as in production: the DuckDB file, the
 * keyring and the exports directory all under one DATA_DIR. Every attack gets its 422 and code, and nothing happens:
 * no file written, no keyring byte in any answer, central tables, schemas and settings as they were, and the
 * server still answers tenants and runs pipelines afterwards.
 */
describe('admin SQL sandbox (issue 9, part 1)', () => {
  let dataDir: string;
  let warehouse: Warehouse;
  let t: TestSystem;
  let apiKey: string;
  let keyringText: string;
  let secrets: string[];
  const out = path.join(os.tmpdir(), `cv-attack-${randomBytes(6).toString('hex')}`);
  const sql = (text: string) => t.request.post('/api/v1/admin/warehouse/query').set('X-Admin-Key', t.adminKey).send({ sql: text });
  const count = async (table: string): Promise<number> => Number((await warehouse.query(`SELECT COUNT(*) AS n FROM ${table}`)).rows[0]?.['n']);
  const schemas = async (): Promise<string[]> =>
    (await warehouse.query('SELECT schema_name FROM information_schema.schemata ORDER BY 1')).rows.map((r) => String(r['schema_name']));
  const settings = async (): Promise<string> => JSON.stringify((await warehouse.query('SELECT name, value FROM duckdb_settings() ORDER BY name')).rows);

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-datadir-'));
    const config = loadConfig({ DATA_DIR: dataDir });
    warehouse = await createWarehouse(config.warehouse, { dataDir, logger: silentLogger() });
    t = await startTestSystem({ warehouse, env: { DATA_DIR: dataDir } });
    apiKey = await onboard(t, 'acme_corp', 'PROFESSIONAL');
    keyringText = fs.readFileSync(path.join(dataDir, 'keyring.json'), 'utf8');
    const keyring = JSON.parse(keyringText) as { keys: Array<{ key: string }> };
    secrets = [keyringText, ...keyring.keys.map((k) => k.key), t.adminKey];
    expect(keyring.keys[0]?.key).to.have.length.above(20);
  });
  after(async () => {
    await t.close();
    await warehouse.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  describe('the guide’s kind of query', () => {
    it('answers rows from the central tables', async () => {
      const res = await sql("SELECT tenant_id, is_active FROM tenants.tenant_api_keys WHERE tenant_id='acme_corp'");
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ rows: [{ tenant_id: 'acme_corp', is_active: true }], truncated: false });
    });

    it('caps a large result at 10,000 rows and says it was truncated', async () => {
      const res = await sql('SELECT range AS n FROM range(1000000000000)');
      expect(res.status).to.equal(200);
      expect(res.body.rows).to.have.length(10_000);
      expect(res.body.truncated).to.equal(true);
    });
  });

  describe('when attacked', () => {
    let profilesBefore: number;
    let schemasBefore: string[];
    let settingsBefore: string;
    const attacks = (): ReturnType<typeof sqlAttacks> => sqlAttacks(dataDir, out);
    const answers: Array<{ sql: string; code: string; status: number; body: { code?: string }; text: string }> = [];

    // The attacks run once, here; each test below checks one thing about what they did (or did not do).
    before(async () => {
      profilesBefore = await count('tenants.tenant_profiles');
      schemasBefore = await schemas();
      settingsBefore = await settings();
      for (const attack of attacks()) {
        const res = await sql(attack.sql);
        answers.push({ sql: attack.sql, code: attack.code, status: res.status, body: res.body as { code?: string }, text: res.text });
      }
    });

    it('refuses every attack with 422 and its own code', () => {
      expect(answers).to.have.length(attacks().length);
      const wrong = answers.filter((a) => a.status !== 422 || a.body.code !== a.code).map((a) => `${a.status} ${String(a.body.code)} (want ${a.code}): ${a.sql}`);
      expect(wrong).to.deep.equal([]);
    });

    it('never answers with keyring bytes, the admin key or a host file', () => {
      expect(profilesBefore).to.equal(1);
      for (const a of answers) {
        for (const secret of secrets) expect(a.text, a.sql).not.to.contain(secret);
        expect(a.text, a.sql).not.to.contain('root:x:0:0');
      }
    });

    it('wrote no file anywhere an attack pointed, nor in the data directory', () => {
      const targets = attacks().flatMap((a) => (a.writes ? [a.writes] : []));
      expect(targets).to.have.length.above(5);
      for (const target of targets) expect(fs.existsSync(target), target).to.equal(false);
      const ownFiles = ['keyring.json', 'server.json', 'warehouse.duckdb', 'warehouse.duckdb.wal', 'warehouse.duckdb.lock', 'warehouse.duckdb.tmp'];
      for (const entry of fs.readdirSync(dataDir)) expect(ownFiles, entry).to.include(entry);
    });

    it('left the central tables, the schemas, the settings and the keyring as they were', async () => {
      expect(schemasBefore).to.include.members(['acme_corp', 'tenants', 'customers']);
      expect(await count('tenants.tenant_profiles')).to.equal(profilesBefore);
      expect(await count('tenants.tenant_profiles_events')).to.be.at.least(1);
      expect(await schemas()).to.deep.equal(schemasBefore);
      expect(await settings()).to.equal(settingsBefore);
      expect(fs.readFileSync(path.join(dataDir, 'keyring.json'), 'utf8')).to.equal(keyringText);
    });

    it('still serves tenants and runs pipelines afterwards', async () => {
      const profile = await t.request.get('/api/v1/tenants/acme_corp').set('X-API-Key', apiKey);
      expect(profile.status).to.equal(200);
      expect((await t.request.get('/health/ready')).status).to.equal(200);
      const run = await t.request.post('/api/v1/pipelines/run/acme_corp/gcp/cost/dryrun').set('X-API-Key', apiKey).set('X-User-ID', 'alice');
      expect(run.status).to.equal(202);
      expect((await waitForRun(t, apiKey, run.body.pipeline_logging_id)).status).to.equal('COMPLETED');
      expect((await sql('SELECT 1 AS still_here')).body.rows).to.deep.equal([{ still_here: 1 }]);
    });
  });

  describe('when the query is valid but the engine refuses it', () => {
    it('answers a file in the allowed exports directory the same whether it exists or not: 422, never 500', async () => {
      fs.mkdirSync(path.join(dataDir, 'exports'), { recursive: true });
      fs.writeFileSync(path.join(dataDir, 'exports', 'present.csv'), 'a\n1\n');
      const present = await sql(`SELECT * FROM read_csv('${dataDir}/exports/present.csv')`);
      const missing = await sql(`SELECT * FROM read_csv('${dataDir}/exports/missing.csv')`);
      expect([present.status, missing.status]).to.deep.equal([422, 422]);
      expect([present.body.code, missing.body.code]).to.deep.equal(['SQL_FUNCTION_NOT_ALLOWED', 'SQL_FUNCTION_NOT_ALLOWED']);
      expect(present.body.detail).to.equal(missing.body.detail);
    });

    it('answers an unknown table and a syntax error with 422 WAREHOUSE_ERROR', async () => {
      for (const text of ['SELECT * FROM `acme_corp.nope`', 'SELEC 1']) {
        const res = await sql(text);
        expect(res.status, text).to.equal(422);
        expect(res.body.code, text).to.equal('WAREHOUSE_ERROR');
      }
    });
  });
});
