import autocannon from 'autocannon';
import { callApi, createCluster, onboardTenant, startFakeBigQuery } from '../test/helpers/processes';
import { BENCH_PLAN, BENCH_RUN_PATH, BENCH_TENANT, benchConfigs, rssOf, UNTHROTTLED_ENV } from './support';
async function main() {
  const bq = await startFakeBigQuery(); const cfg = benchConfigs();
  const c = createCluster({ bigquery: bq, env: { CONFIGS_DIR: cfg.dir, ...UNTHROTTLED_ENV, ...(process.env.XNODE ? { NODE_OPTIONS: process.env.XNODE } : {}) } });
  const api = await c.start('api');
  const key = await onboardTenant(api, c.adminKey, BENCH_TENANT, BENCH_PLAN);
  await new Promise((r) => setTimeout(r, 1000));
  console.log('idle', rssOf(api.pid));
  let n = 0;
  await autocannon({ url: api.url, connections: 50, duration: 8, requests: [{ method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, setupRequest: (q) => ({ ...q, path: BENCH_RUN_PATH, body: JSON.stringify({ n: n++ }) }) }] });
  console.log('after load', rssOf(api.pid), n);
  await new Promise((r) => setTimeout(r, 3000));
  const m = await callApi(api, 'GET', '/metrics'); const txt = String(m.body.text ?? '');
  console.log(txt.split('\n').filter((l) => /^nodejs_heap_size_used_bytes|^nodejs_heap_size_total|^process_resident/.test(l)).join('\n'));
  console.log('later', rssOf(api.pid));
  await c.close(); await bq.close(); cfg.cleanup();
}
void main();
