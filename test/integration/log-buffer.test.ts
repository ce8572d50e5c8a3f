import { expect } from 'chai';
import { callApi, closeAll, createCluster, startFakeBigQuery } from '../helpers/processes';
import type { Cluster, FakeBigQuery, RoleProcess } from '../helpers/processes';

/**
 * Issue 12: the API writes its log lines in batches (LOG_BUFFER_BYTES) instead of one system call per access
 * line. Batching must never lose a line on a clean stop: here the buffer is large and the periodic flush far
 * away, so the access lines can only reach standard output through the flush on exit.
 */
describe('buffered log lines (LOG_BUFFER_BYTES)', function () {
  this.timeout(60_000);
  let bq: FakeBigQuery;
  let cluster: Cluster;
  let api: RoleProcess;
  const ids = ['buffered-line-1', 'buffered-line-2', 'buffered-line-3'];

  before(async () => {
    bq = await startFakeBigQuery();
    cluster = createCluster({ bigquery: bq });
    api = await cluster.start('api', { LOG_BUFFER_BYTES: '16000', LOG_FLUSH_INTERVAL_MS: '60000' });
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') process.stderr.write(`${cluster?.output().slice(-10_000) ?? ''}\n`);
  });
  after(() => closeAll(() => cluster?.close(), () => bq?.close()));

  it('writes the start line at once (readiness is read from it) and holds access lines in the buffer', async () => {
    expect(api.output()).to.include('"msg":"convergence started"');
    for (const id of ids) expect((await callApi(api, 'GET', '/health/live', { headers: { 'X-Request-ID': id } })).status).to.equal(200);
    expect(api.output()).not.to.include(ids[0]);
  });

  it('flushes every access line when the process stops on SIGTERM, before its last line', async () => {
    api.kill('SIGTERM');
    expect(await api.exited).to.deep.equal({ code: 0, signal: null });
    const out = api.output();
    for (const id of ids) expect(out).to.match(new RegExp(`"request_id":"${id}".*"msg":"request"`));
    expect(out).to.include('"msg":"stopped"');
  });
});
