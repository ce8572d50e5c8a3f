/**
 * Where the trigger path's CPU goes: the compiled API (as bench/trigger-path.ts starts it) under the same
 * saturating load, CPU µs per trigger from /proc, and with PROFILE_DIR set a V8 CPU profile
 * (`--cpu-prof`) summarised by self time per function and per package.
 *
 *   npm run build && PROFILE_DIR=/tmp/prof npx tsx bench/trigger-profile.ts
 */
import fs from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { callApi, createCluster, onboardTenant, startFakeBigQuery } from '../test/helpers/processes';
import { BENCH_PLAN, BENCH_RUN_PATH, BENCH_TENANT, benchConfigs, cpuMsOf, REDIS_URL, UNTHROTTLED_ENV } from './support';
import { load, PRODUCTION_NODE_OPTIONS, startBaseline } from './trigger-path';
import { dropPrefix } from './support';
import { randomBytes } from 'node:crypto';

const DURATION_SEC = Number(process.env.BENCH_DURATION_SEC ?? 10);
const PROFILE_DIR = process.env.PROFILE_DIR;

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

function summarise(file: string, top = 40): void {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fn = new Map<string, number>();
  const pkg = new Map<string, number>();
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const where = url.replace(/^.*node_modules\//, 'nm:').replace(/^.*\/dist\//, 'dist/');
    fn.set(`${functionName || '(anon)'} ${where}:${lineNumber}`, (fn.get(`${functionName || '(anon)'} ${where}:${lineNumber}`) ?? 0) + us);
    const p = url.includes('node_modules/') ? url.replace(/^.*node_modules\/((@[^/]+\/)?[^/]+).*$/, '$1') : url.startsWith('node:') ? url : url.includes('/dist/') ? url.replace(/^.*\/dist\//, 'dist/') : functionName || '(vm)';
    pkg.set(p, (pkg.get(p) ?? 0) + us);
  }
  const print = (title: string, m: Map<string, number>): void => {
    console.log(`\n${title}`);
    for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`);
  };
  print('self time by package / file', pkg);
  print('self time by function', fn);
}

async function main(): Promise<void> {
  const bigquery = await startFakeBigQuery();
  const configs = benchConfigs();
  const cluster = createCluster({ bigquery, redis: { kind: 'standalone', url: REDIS_URL }, compiled: true, env: { CONFIGS_DIR: configs.dir, NODE_OPTIONS: PRODUCTION_NODE_OPTIONS, ...UNTHROTTLED_ENV } });
  try {
    const nodeArgs = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
    const api = await cluster.start('api', {}, nodeArgs);
    const apiKey = await onboardTenant(api, cluster.adminKey, BENCH_TENANT, BENCH_PLAN);
    let n = Math.floor(Math.random() * 1e9);
    const run = (durationSec: number) =>
      autocannon({
        url: api.url,
        connections: 50,
        duration: durationSec,
        requests: [{ method: 'POST', headers: { 'Content-Type': 'application/json', 'X-API-Key': apiKey }, setupRequest: (req) => ({ ...req, path: BENCH_RUN_PATH, body: JSON.stringify({ n: ++n }) }) }],
      });
    const probe = await callApi(api, 'POST', BENCH_RUN_PATH, { apiKey, body: { n: -1 } });
    if (probe.status !== 202) throw new Error(`probe answered ${probe.status}`);
    await run(2);
    const cpuBefore = cpuMsOf(api.pid);
    const result = await run(DURATION_SEC);
    const cpuMs = cpuMsOf(api.pid) - cpuBefore;
    const ok = result.statusCodeStats?.['202']?.count ?? 0;
    console.log(JSON.stringify({ reqPerSec: result.requests.average, total: result.requests.total, ok202: ok, errors: result.errors, cpuUsPerTrigger: Math.round((cpuMs * 1000) / result.requests.total) }));
    if (PROFILE_DIR) {
      api.kill('SIGTERM');
      await api.exited;
      const files = fs.readdirSync(PROFILE_DIR).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(PROFILE_DIR, f));
      const newest = files.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
      if (newest) summarise(newest);
      else console.log('no profile written');
    }
    // The bare Koa + BullMQ add route under the same load, for its CPU per request.
    const prefix = `benchbase${randomBytes(3).toString('hex')}`;
    const baseline = await startBaseline(prefix);
    try {
      const basePath = (i: number): string => `/run/${BENCH_TENANT}/gcp/cost/${i}`;
      await load(baseline.url, basePath, {}, { durationSec: 2 });
      const pid = baseline.child.pid ?? 0;
      const before = cpuMsOf(pid);
      const base = await load(baseline.url, basePath, {}, { durationSec: DURATION_SEC });
      console.log(JSON.stringify({ baseline: { reqPerSec: base.requestsPerSec, total: base.total, cpuUsPerRequest: Math.round(((cpuMsOf(pid) - before) * 1000) / base.total) } }));
    } finally {
      baseline.child.kill('SIGKILL');
      await dropPrefix(prefix);
    }
  } finally {
    await cluster.close();
    await bigquery.close();
    configs.cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
