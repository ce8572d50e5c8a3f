import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { freePort } from '../helpers/processes';
import { startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

const ROOT = path.resolve(__dirname, '../..');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `npm run sql -- "<sql>"`, as a child process with the given environment. */
async function npmRunSql(sql: string, env: Record<string, string>): Promise<CliResult> {
  return promisify(execFile)(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'src/cli/sql.ts', sql], {
    cwd: ROOT,
    env: { ...process.env, WAREHOUSE: 'duckdb', DUCKDB_PATH: '', LOG_LEVEL: 'silent', ...env },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

/** `npm run sql` goes through the same sandbox as the endpoint, with or without a server to talk to. */
describe('npm run sql (issue 9, part 1)', function () {
  // Each case starts a tsx child process.
  this.timeout(60_000);
  const out = path.join(os.tmpdir(), `cv-cli-attack-${randomBytes(6).toString('hex')}`);
  const copyAttack = `SELECT '--' AS a; COPY (SELECT * FROM tenants.tenant_profiles) TO '${out}.csv'`;

  describe('with no server running (it opens the warehouse itself)', () => {
    let dataDir: string;
    let env: Record<string, string>;

    before(async () => {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-cli-'));
      fs.writeFileSync(path.join(dataDir, 'keyring.json'), '{"version":1,"keys":[{"key":"CLI-KEYRING-SECRET"}]}');
      env = { DATA_DIR: dataDir, PORT: String(await freePort()) };
    });
    after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

    it('refuses the COPY smuggled after a comment-looking string, and writes nothing', async () => {
      const res = await npmRunSql(copyAttack, env);
      expect(res.code).to.equal(1);
      expect(res.stderr).to.contain('422 SQL_NOT_SINGLE_STATEMENT');
      expect(fs.existsSync(`${out}.csv`)).to.equal(false);
    });

    it('refuses to read the keyring next to the warehouse file', async () => {
      const res = await npmRunSql(`SELECT * FROM '${dataDir}/keyring.json'`, env);
      expect(res.code).to.equal(1);
      // A name that is no table is refused from the parse tree, before DuckDB could open it as a file.
      expect(res.stderr).to.contain('422 WAREHOUSE_ERROR');
      expect(res.stderr).to.contain('does not exist');
      expect(res.stdout + res.stderr).not.to.contain('CLI-KEYRING-SECRET');
    });

    it('runs an ordinary SELECT', async () => {
      const res = await npmRunSql('SELECT 40 + 2 AS answer', env);
      expect(res.code, res.stderr).to.equal(0);
      expect(res.stdout).to.match(/answer[\s\S]*42/);
    });

    it('says so when a SELECT finds no rows (not an empty box)', async () => {
      const res = await npmRunSql("SELECT schema_name FROM information_schema.schemata WHERE schema_name = 'nobody_corp'", env);
      expect([res.code, res.stdout.trim()], res.stderr).to.deep.equal([0, '(0 rows)']);
    });
  });

  describe('with the server running (it calls the admin endpoint)', () => {
    let t: TestSystem;

    before(async () => {
      t = await startTestSystem();
    });
    after(async () => t.close());

    it('gets the endpoint’s refusal and prints its code', async () => {
      const port = (t.system.server()?.address() as { port: number }).port;
      const res = await npmRunSql(copyAttack, { DATA_DIR: t.dataDir, PORT: String(port), ADMIN_API_KEY: t.adminKey });
      expect(res.code).to.equal(1);
      expect(res.stderr).to.contain('422 SQL_NOT_SINGLE_STATEMENT');
      expect(fs.existsSync(`${out}.csv`)).to.equal(false);
    });
  });
});
