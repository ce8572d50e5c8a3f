import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { readServerState, serverStatePath } from '../../src/api/server-state';
import { freePort } from '../helpers/processes';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

const ROOT = path.resolve(__dirname, '../..');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `npm run <script> -- …` as a child process (tsx directly, as npm would run it). */
async function cli(script: 'sql' | 'sample-data', args: string[], env: Record<string, string>): Promise<CliResult> {
  return promisify(execFile)(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), `src/cli/${script}.ts`, ...args], {
    cwd: ROOT,
    env: { ...process.env, WAREHOUSE: 'duckdb', DUCKDB_PATH: '', LOG_LEVEL: 'silent', ...env },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

/** The operator CLIs find a server on another port, and say what to do when they cannot go on (issue 11, point 6). */
describe('npm run sql / sample-data and the running server', function () {
  // Each case starts a tsx child process.
  this.timeout(60_000);

  describe('with the server on another port than PORT says', () => {
    let t: TestSystem;
    let env: Record<string, string>;
    let serverPort: number;

    before(async () => {
      t = await startTestSystem();
      await onboard(t, 'acme_corp', 'PROFESSIONAL');
      serverPort = (t.system.server()?.address() as { port: number }).port;
      // The CLI's own configuration names a port nothing listens on: only the state file leads to the server.
      let other = await freePort();
      if (other === serverPort) other = await freePort();
      env = { DATA_DIR: t.dataDir, PORT: String(other), ADMIN_API_KEY: t.adminKey };
    });
    after(async () => t.close());

    it('the server recorded its address and pid in DATA_DIR/server.json', () => {
      expect(readServerState(t.dataDir)).to.deep.include({ pid: process.pid, url: `http://127.0.0.1:${serverPort}` });
    });

    it('npm run sql answers from the server’s warehouse', async () => {
      const res = await cli('sql', ['SELECT COUNT(*) AS runs FROM `acme_corp.x_meta_pipeline_runs`'], env);
      expect(res.code, res.stderr).to.equal(0);
      expect(res.stdout).to.match(/runs[\s\S]*0/);
    });

    it('npm run sample-data loads through the server, ending on --end-date', async () => {
      const res = await cli('sample-data', ['--tenant', 'acme_corp', '--days', '2', '--rows-per-day', '25', '--end-date', '2025-11-14'], env);
      expect(res.code, res.stderr).to.equal(0);
      expect(res.stdout).to.contain(`Loaded 50 rows into acme_corp.gcp_billing_export_v1 (2025-11-13 .. 2025-11-14, through the server at http://127.0.0.1:${serverPort})`);
      const { rows } = await t.warehouse.query('SELECT COUNT(*) AS n FROM `acme_corp.gcp_billing_export_v1`');
      expect(rows).to.deep.equal([{ n: 50 }]);
    });

    it('npm run sample-data for a tenant that is not onboarded names the onboarding call', async () => {
      const res = await cli('sample-data', ['--tenant', 'ghost_co', '--days', '1'], env);
      expect(res.code).to.equal(1);
      expect(res.stderr).to.contain('Tenant ghost_co is not onboarded');
      expect(res.stderr).to.contain(`curl -X POST http://127.0.0.1:${serverPort}/api/v1/tenants/onboard`);
      expect(await t.warehouse.tableExists({ dataset: 'ghost_co', table: 'gcp_billing_export_v1' })).to.equal(false);
    });

    it('a clean stop removes the state file', async () => {
      const probe = await startTestSystem({ role: 'api' });
      const file = serverStatePath(probe.dataDir);
      expect(fs.existsSync(file)).to.equal(true);
      await probe.system.close();
      expect(fs.existsSync(file)).to.equal(false);
      await probe.close();
    });
  });

  describe('with no server answering', () => {
    let dataDir: string;
    before(() => {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-cli-'));
    });
    after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

    it('ignores a state file left by a process that is gone', async () => {
      fs.writeFileSync(serverStatePath(dataDir), JSON.stringify({ pid: 2 ** 22 + 17, url: 'http://127.0.0.1:9', startedAt: '' }));
      expect(readServerState(dataDir)).to.equal(null);
      const res = await cli('sql', ['SELECT 40 + 2 AS answer'], { DATA_DIR: dataDir, PORT: String(await freePort()) });
      expect(res.code, res.stderr).to.equal(0);
      expect(res.stdout).to.match(/answer[\s\S]*42/);
    });

    it('npm run sql on a warehouse held by another process says where it looked and what to do', async () => {
      const port = await freePort();
      // A live process (this test runner) holds the warehouse file's lock and listens nowhere.
      fs.writeFileSync(path.join(dataDir, 'warehouse.duckdb.lock'), `${process.pid}\n`);
      try {
        const res = await cli('sql', ['SELECT 1 AS one'], { DATA_DIR: dataDir, PORT: String(port) });
        expect(res.code).to.equal(1);
        expect(res.stderr).to.contain(`already opened by process ${process.pid}`);
        expect(res.stderr).to.contain(`No server answered at http://127.0.0.1:${port}`);
        expect(res.stderr).to.contain(serverStatePath(dataDir));
        expect(res.stderr).to.contain('set PORT');
      } finally {
        fs.rmSync(path.join(dataDir, 'warehouse.duckdb.lock'), { force: true });
      }
    });
  });

  describe('asked for help or given an unknown option', () => {
    it('npm run sample-data -- --help prints the usage and exits 0; an unknown option names it with the usage, exit 1', async () => {
      const help = await cli('sample-data', ['--help'], {});
      expect(help.code, help.stderr).to.equal(0);
      expect(help.stdout).to.match(/^usage: npm run sample-data -- --tenant/);
      const bogus = await cli('sample-data', ['--bogus'], {});
      expect(bogus.code).to.equal(1);
      expect(bogus.stderr).to.contain("Unknown option '--bogus'").and.contain('usage: npm run sample-data');
    });
  });
});
