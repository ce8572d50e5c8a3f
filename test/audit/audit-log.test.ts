import { expect } from 'chai';
import { AuditLog } from '../../src/audit/audit-log';
import { listAudit } from '../../src/audit/audit-query';
import type { AuditEntry } from '../../src/audit/actions';
import type { RedisClient } from '../../src/redis/connection';
import { ManualClock } from '../../src/shared/clock';
import { silentLogger } from '../../src/shared/logger';
import { bootstrapCentral } from '../../src/tenants/bootstrap';
import { createTestRedis } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';
import { createTestDuckDb } from '../helpers/warehouse';
import type { TestWarehouse } from '../helpers/warehouse';
import { warehouseOutage } from '../helpers/warehouse-outage';
import type { WarehouseOutage } from '../helpers/warehouse-outage';

/** A Redis whose RPUSH can be made to fail, like a Redis that is unreachable for a moment. */
function flakyRpush(inner: RedisClient): { redis: RedisClient; fail(on: boolean): void } {
  let failing = false;
  const redis = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'rpush' && failing) return () => Promise.reject(new Error('redis down'));
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { redis, fail: (on) => (failing = on) };
}

const entry = (n: number, extra: Partial<AuditEntry> = {}): AuditEntry => ({
  action: 'api_key.issue', actor: 'admin', outcome: 'success', tenantId: 'acme_corp', target: `api_key:k${n}`, requestId: `req-${n}`, ...extra,
});

describe('AuditLog (issue 13.3)', () => {
  let r: TestRedis;
  let wh: TestWarehouse;
  let outage: WarehouseOutage;
  let flaky: ReturnType<typeof flakyRpush>;
  let clock: ManualClock;
  let log: AuditLog;

  beforeEach(async () => {
    r = await createTestRedis();
    wh = await createTestDuckDb();
    await bootstrapCentral({ warehouse: wh.warehouse });
    outage = warehouseOutage(wh.warehouse);
    flaky = flakyRpush(r.redis);
    clock = new ManualClock(Date.parse('2026-03-01T10:00:00.000Z'));
    log = new AuditLog({ redis: flaky.redis, keys: r.keys, warehouse: outage.warehouse, clock, logger: silentLogger(), batchSize: 3 });
  });
  afterEach(async () => {
    await log.close();
    await r.cleanup();
    await wh.cleanup();
  });

  const stored = async (): Promise<string[]> => (await listAudit(wh.warehouse, { limit: 500 })).entries.map((e) => String(e.request_id));

  it('writes nothing to the warehouse on record (one Redis push); flush moves every row, in batches', async () => {
    for (let n = 1; n <= 7; n += 1) await log.record(entry(n));
    expect(await stored()).to.deep.equal([]);
    expect(await log.pending()).to.equal(7);
    expect(await log.flush()).to.equal(7);
    expect(await log.pending()).to.equal(0);
    expect((await stored()).sort()).to.deep.equal(['req-1', 'req-2', 'req-3', 'req-4', 'req-5', 'req-6', 'req-7']);
  });

  it('keeps the rows in the outbox while the warehouse refuses them, and writes them once it is back', async () => {
    await log.record(entry(1));
    outage.down(['insertRows']);
    const failed = await log.flush().then(() => null, (err: Error) => err);
    expect(failed?.message).to.equal('warehouse down');
    await log.record(entry(2));
    expect(await log.pending()).to.equal(2);
    outage.up();
    expect(await log.flush()).to.equal(2);
    expect((await stored()).sort()).to.deep.equal(['req-1', 'req-2']);
  });

  it('never rejects when Redis refuses the row: it waits in memory and is pushed at the next flush', async () => {
    flaky.fail(true);
    await log.record(entry(1));
    expect(await log.pending()).to.equal(1);
    flaky.fail(false);
    expect(await log.flush()).to.equal(1);
    expect(await stored()).to.deep.equal(['req-1']);
  });

  it('writes rows Redis never took straight to the warehouse at close', async () => {
    flaky.fail(true);
    await log.record(entry(1));
    await log.close();
    expect(await stored()).to.deep.equal(['req-1']);
  });

  it('leaves the outbox to another process while one flushes (one flusher at a time)', async () => {
    await log.record(entry(1));
    await r.redis.set(r.keys.lock('audit-flush'), 'someone-else', 'PX', 60_000);
    expect(await log.flush()).to.equal(0);
    expect(await log.pending()).to.equal(1);
    await r.redis.del(r.keys.lock('audit-flush'));
    expect(await log.flush()).to.equal(1);
  });

  it('removes only the rows its own insert carried, even when its lock expired mid-insert and another process flushed', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered: () => void = () => undefined;
    const inserting = new Promise<void>((resolve) => (entered = resolve));
    const slow = new Proxy(wh.warehouse, {
      get(target, prop, receiver) {
        if (prop === 'insertRows') return async (...args: Parameters<typeof target.insertRows>) => (entered(), await gate, target.insertRows(...args));
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const stuck = new AuditLog({ redis: r.redis, keys: r.keys, warehouse: slow, clock, logger: silentLogger() });
    await log.record(entry(1));
    const stuckFlush = stuck.flush();
    await inserting;
    await r.redis.del(r.keys.lock('audit-flush')); // its lock expires while its insert hangs
    expect(await log.flush()).to.equal(1);
    await log.record(entry(2)); // recorded after the other flush: nobody has inserted it yet
    release();
    expect(await stuckFlush).to.equal(1);
    expect(await log.pending()).to.equal(1); // the row it never inserted is still there
    await stuck.close(); // which flushes it
    expect((await stored()).sort()).to.deep.equal(['req-1', 'req-2']);
  });

  it('reads a row repeated by a flush retried after a crash only once', async () => {
    await log.record(entry(1));
    const [json] = await r.redis.lrange(r.keys.auditOutbox(), 0, 0);
    await r.redis.rpush(r.keys.auditOutbox(), String(json));
    expect(await log.flush()).to.equal(2);
    expect(await stored()).to.deep.equal(['req-1']);
  });

  it('pages newest first by time then id, with every filter, through the cursor', async () => {
    for (let n = 1; n <= 5; n += 1) {
      await log.record(entry(n, n % 2 === 0 ? { outcome: 'failure', outcomeCode: 'API_KEY_NOT_FOUND', tenantId: 'other_corp' } : {}));
      if (n !== 2) clock.advance(1000); // rows 2 and 3 share a time: the id breaks the tie
    }
    await log.flush();
    const all = (await listAudit(wh.warehouse, { limit: 500 })).entries;
    const pages: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listAudit(wh.warehouse, { limit: 2, ...(cursor ? { cursor } : {}) });
      pages.push(...page.entries.map((e) => e.audit_id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(pages).to.deep.equal(all.map((e) => e.audit_id));
    expect(all.map((e) => e.request_id).slice(0, 2)).to.deep.equal(['req-5', 'req-4']);
    expect((await listAudit(wh.warehouse, { limit: 500, outcome: 'failure' })).entries.map((e) => e.request_id)).to.deep.equal(['req-4', 'req-2']);
    expect((await listAudit(wh.warehouse, { limit: 500, tenantId: 'acme_corp' })).entries.map((e) => e.request_id)).to.deep.equal(['req-5', 'req-3', 'req-1']);
    const from = new Date('2026-03-01T10:00:01.000Z');
    const to = new Date('2026-03-01T10:00:03.000Z');
    expect((await listAudit(wh.warehouse, { limit: 500, from, to })).entries.map((e) => e.request_id).sort()).to.deep.equal(['req-2', 'req-3', 'req-4']); // req-5 sits on `to`: excluded
    expect((await listAudit(wh.warehouse, { limit: 500, action: 'api_key.revoke' })).entries).to.deep.equal([]);
    expect((await listAudit(wh.warehouse, { limit: 500, actor: 'admin' })).entries).to.have.length(5);
  });
});
