import Redis from 'ioredis';
import { createTestDuckDb } from '../test/helpers/warehouse';
import { BENCH_RUN_PATH, startBenchSystem } from './support';
import supertest from 'supertest';
(async () => {
  const wh = await createTestDuckDb();
  const b = await startBenchSystem({ warehouse: wh.warehouse });
  await b.system.start('api');
  const key = String((await b.system.apiDeps.tenants.issueKey('bench_corp')).api_key);
  const req = supertest(b.system.server()!);
  for (let i = 0; i < 20; i++) await req.post(BENCH_RUN_PATH).set('X-API-Key', key).send({ n: 100000 + i });
  const r = new Redis();
  await r.config('RESETSTAT');
  const N = 200;
  for (let i = 0; i < N; i++) { const res = await req.post(BENCH_RUN_PATH).set('X-API-Key', key).send({ n: i }); if (res.status !== 202) throw new Error(String(res.status)); }
  const info = await r.info('commandstats');
  const rows = info.split('\n').filter((l) => l.startsWith('cmdstat_')).map((l) => { const m = /cmdstat_(\S+):calls=(\d+),usec=(\d+)/.exec(l)!; return [m[1], Number(m[2]) / N, Number(m[3]) / N] as const; }).sort((a, b) => b[1] - a[1]);
  let total = 0, usec = 0; for (const [n, c, u] of rows) { total += c; usec += u; console.log(n, c.toFixed(2), 'usec', u.toFixed(1)); }
  console.log('total per trigger', total.toFixed(1), 'usec', usec.toFixed(1));
  r.disconnect(); await b.close(); await wh.cleanup(); process.exit(0);
})();
