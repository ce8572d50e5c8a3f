import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ManualClock, utcDay } from '../../src/shared/clock';
import { configsWith } from '../helpers/processes';
import { eventually } from '../helpers/polling';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { readDayTemplate } from '../helpers/templates';
import { createTestDuckDb } from '../helpers/warehouse';
import type { TestWarehouse } from '../helpers/warehouse';

type TenantOutcome = { tenant_id: string; state: string; run_id: string | null; run_status: string | null; code: string | null };

type PlanName = 'STARTER' | 'PROFESSIONAL' | 'SCALE';
const planOf = (i: number): PlanName => (['STARTER', 'PROFESSIONAL', 'SCALE'] as const)[i % 3] ?? 'STARTER';
const DAILY: Record<PlanName, number> = { STARTER: 6, PROFESSIONAL: 25, SCALE: 100 };
const tenantOf = (i: number): string => `fo_t${String(i).padStart(2, '0')}`;
/** Tenants 0..49: plans in turn; every tenth one (0, 10, …, 40) has used its whole daily quota already. */
const atQuota = (i: number): boolean => i % 10 === 0;

/**
 * Issue 15.2: an admin fan-out starts one run per selected tenant, each through that tenant's own admission at
 * its start time, with refusals recorded per tenant. Runs against the real Redis, DuckDB and BullMQ workers.
 */
describe('admin fan-out', function () {
  this.timeout(60_000);
  let configs: { dir: string; cleanup(): void };
  let wh: TestWarehouse;
  let t: TestSystem;
  let exportsDir: string;
  const clock = new ManualClock('2026-12-04T10:00:00Z');
  const start = (prefix?: string): Promise<TestSystem> =>
    startTestSystem({ warehouse: wh.warehouse, clock, env: { CONFIGS_DIR: configs.dir, OFFBOARD_EXPORT_DIR: exportsDir }, ...(prefix ? { prefix } : {}) });
  const admin = (): Record<string, string> => ({ 'X-Admin-Key': t.adminKey });
  const fanout = (body: object) => t.request.post('/api/v1/admin/fanout/gcp/chaos/read_day').set(admin()).send(body);
  const progress = async (id: string): Promise<{ body: Record<string, unknown>; tenants: TenantOutcome[] }> => {
    const res = await t.request.get(`/api/v1/admin/fanouts/${id}`).set(admin());
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return { body: res.body as Record<string, unknown>, tenants: res.body.tenants as TenantOutcome[] };
  };

  before(async () => {
    configs = configsWith({ 'gcp/chaos/read_day.yml': readDayTemplate('fan-out test') });
    // Offboarding exports the tenant's tables before it deletes them.
    exportsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-fanout-exports-'));
    wh = await createTestDuckDb({ exportsDir });
    t = await start();
    // Onboarded ten at a time (each creates its dataset and tables).
    for (let i = 0; i < 50; i += 10) await Promise.all(Array.from({ length: 10 }, (_, j) => onboard(t, tenantOf(i + j), planOf(i + j))));
    // A suspended tenant: never selected by all_active.
    await onboard(t, 'fo_paused', 'SCALE');
    const paused = await t.request.patch('/api/v1/admin/tenants/fo_paused').set(admin()).send({ status: 'SUSPENDED' });
    expect(paused.status).to.equal(200);
  });
  after(async () => {
    await t.close();
    await wh.cleanup();
    configs.cleanup();
    fs.rmSync(exportsDir, { recursive: true, force: true });
  });

  it('runs once for each of 50 ACTIVE tenants of mixed plans, refuses exactly those at quota, and survives a restart of every process mid-way', async () => {
    const redis = (): TestSystem['system']['clients']['redis'] => t.system.clients.redis;
    const day = utcDay(clock.now());
    for (let i = 0; i < 50; i++) {
      if (atQuota(i)) await redis().hset(t.system.keys.dailyUsage(tenantOf(i), day), 'run', String(DAILY[planOf(i)]));
    }
    const body = { selector: { all_active: true }, parameters: { date: '2026-12-01' }, spread_seconds: 2 };
    const res = await fanout(body);
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    expect(res.body).to.include({ tenants_total: 50, window: '2026-12-04' });
    expect(res.body.counts).to.deep.equal({ SCHEDULED: 50 });
    const id = res.body.fanout_id as string;
    // The same request in the same window is the same fan-out.
    const again = await fanout(body);
    expect([again.status, again.body.fanout_id]).to.deep.equal([200, id]);

    // Every process stops while the starts are still delayed jobs; a new system on the same Redis and warehouse runs them.
    const prefix = t.prefix;
    await t.system.close();
    t = await start(prefix);

    const settled = await eventually('every tenant admitted or refused, every run ended', async () => {
      const p = await progress(id);
      return p.tenants.every((x) => x.state === 'REFUSED' || x.run_status === 'COMPLETED') ? p : undefined;
    }, 30_000, 100);
    expect(settled.tenants.map((x) => x.tenant_id)).to.deep.equal(Array.from({ length: 50 }, (_, i) => tenantOf(i)));
    for (let i = 0; i < 50; i++) {
      const outcome = settled.tenants[i] as TenantOutcome;
      if (atQuota(i)) expect(outcome, tenantOf(i)).to.include({ state: 'REFUSED', code: 'DAILY_QUOTA_EXCEEDED', run_id: null });
      else expect(outcome, tenantOf(i)).to.include({ state: 'ADMITTED', run_status: 'COMPLETED', code: null });
    }
    expect(settled.body.counts).to.deep.equal({ COMPLETED: 45, REFUSED: 5 });
    // Exactly one admission per admitted tenant, none for the refused ones (their counters did not move).
    for (let i = 0; i < 50; i++) {
      const used = Number(await redis().hget(t.system.keys.dailyUsage(tenantOf(i), day), 'run'));
      expect(used, tenantOf(i)).to.equal(atQuota(i) ? DAILY[planOf(i)] : 1);
    }
    const runs = await t.request.post('/api/v1/admin/warehouse/query').set(admin()).send({ sql: 'SELECT COUNT(*) AS n FROM `customers.fanouts` WHERE fanout_id = \'' + id + '\'' });
    expect(Number(runs.body.rows[0].n)).to.equal(1);
  });

  it('selects by plan or by list, records unknown ids as refused, and a new window is a new fan-out', async () => {
    const byPlan = await fanout({ selector: { plans: ['scale'] }, parameters: { date: '2026-12-02' }, spread_seconds: 0 });
    expect(byPlan.status).to.equal(202);
    expect(byPlan.body.tenants_total).to.equal(16);
    const listed = await fanout({ selector: { tenant_ids: ['fo_t01', 'fo_paused', 'fo_nobody'] }, parameters: { date: '2026-12-02' }, spread_seconds: 0, window: 'w1' });
    const id = listed.body.fanout_id as string;
    const p = await eventually('the listed tenants settled', async () => {
      const x = await progress(id);
      return x.tenants.every((o) => o.state !== 'SCHEDULED') ? x : undefined;
    });
    expect(p.tenants.map((o) => [o.tenant_id, o.state, o.code])).to.deep.equal([
      ['fo_nobody', 'REFUSED', 'TENANT_NOT_FOUND'],
      ['fo_paused', 'REFUSED', 'TENANT_SUSPENDED'],
      ['fo_t01', 'ADMITTED', null],
    ]);
    const nextWindow = await fanout({ selector: { tenant_ids: ['fo_t01', 'fo_paused', 'fo_nobody'] }, parameters: { date: '2026-12-02' }, spread_seconds: 0, window: 'w2' });
    expect(nextWindow.status).to.equal(202);
    expect(nextWindow.body.fanout_id).to.not.equal(id);
    // Two identical requests at once: one fan-out, made by one of them.
    const same = { selector: { tenant_ids: ['fo_t02'] }, parameters: { date: '2026-12-03' }, spread_seconds: 0 };
    const [a, b] = await Promise.all([fanout(same), fanout(same)]);
    expect([a.status, b.status].sort()).to.deep.equal([200, 202]);
    expect(a.body.fanout_id).to.equal(b.body.fanout_id);
    const bad = await fanout({ selector: { everyone: true }, spread_seconds: 0 });
    expect([bad.status, bad.body.code]).to.deep.equal([422, 'VALIDATION_ERROR']);
    const missing = await t.request.get('/api/v1/admin/fanouts/00000000-0000-4000-8000-000000000000').set(admin());
    expect([missing.status, missing.body.code]).to.deep.equal([404, 'FANOUT_NOT_FOUND']);
  });

  it('records a tenant offboarded between the fan-out and its start as TENANT_DELETED, not suspended', async () => {
    const gone = await t.request.post('/api/v1/admin/tenants/fo_t49/offboard').set(admin()).send({});
    expect(gone.status, JSON.stringify(gone.body)).to.equal(200);
    const listed = await fanout({ selector: { tenant_ids: ['fo_t48', 'fo_t49'] }, parameters: { date: '2026-12-02' }, spread_seconds: 0, window: 'offboarded-w' });
    expect(listed.status, JSON.stringify(listed.body)).to.equal(202);
    const p = await eventually('the listed tenants settled', async () => {
      const x = await progress(listed.body.fanout_id as string);
      return x.tenants.every((o) => o.state !== 'SCHEDULED') ? x : undefined;
    });
    expect(p.tenants.map((o) => [o.tenant_id, o.state, o.code])).to.deep.equal([
      ['fo_t48', 'ADMITTED', null],
      ['fo_t49', 'REFUSED', 'TENANT_DELETED'],
    ]);
  });

  it('cancels the tenants not started yet; a start job that runs afterwards admits nothing', async () => {
    const created = await fanout({ selector: { tenant_ids: ['fo_t03', 'fo_t04'] }, parameters: { date: '2026-12-02' }, spread_seconds: 3600, window: 'cancel-w' });
    expect(created.status).to.equal(202);
    const id = created.body.fanout_id as string;
    expect(await t.system.batches.queue.getJob(`fanout-${id}-fo_t03`), 'delayed until its start time').to.not.equal(undefined);
    const cancelled = await t.request.delete(`/api/v1/admin/fanouts/${id}`).set(admin());
    expect(cancelled.status, JSON.stringify(cancelled.body)).to.equal(200);
    expect(cancelled.body.counts).to.deep.equal({ CANCELLED: 2 });
    expect((cancelled.body.tenants as TenantOutcome[]).map((o) => [o.tenant_id, o.state, o.code])).to.deep.equal([
      ['fo_t03', 'CANCELLED', 'CANCELLED_BY_OPERATOR'],
      ['fo_t04', 'CANCELLED', 'CANCELLED_BY_OPERATOR'],
    ]);
    expect(await t.system.batches.queue.getJob(`fanout-${id}-fo_t03`), 'the delayed start job is taken out of the queue').to.equal(undefined);
    // A start job that was already running when the fan-out was cancelled: it finds the tenant cancelled.
    await t.system.batches.routines.startFanoutTenant(id, 'fo_t03');
    const after = await progress(id);
    expect(after.tenants.map((o) => [o.state, o.run_id])).to.deep.equal([['CANCELLED', null], ['CANCELLED', null]]);
    expect((await t.request.delete(`/api/v1/admin/fanouts/${id}`).set(admin())).body.counts, 'idempotent').to.deep.equal({ CANCELLED: 2 });
    const missing = await t.request.delete('/api/v1/admin/fanouts/00000000-0000-4000-8000-000000000000').set(admin());
    expect([missing.status, missing.body.code]).to.deep.equal([404, 'FANOUT_NOT_FOUND']);
  });

  it('leaves a tenant whose run was admitted as it is', async () => {
    const created = await fanout({ selector: { tenant_ids: ['fo_t05'] }, parameters: { date: '2026-12-02' }, spread_seconds: 0, window: 'cancel-admitted' });
    const id = created.body.fanout_id as string;
    await eventually('the tenant admitted', async () => ((await progress(id)).tenants[0]?.state === 'ADMITTED' ? true : undefined));
    const cancelled = await t.request.delete(`/api/v1/admin/fanouts/${id}`).set(admin());
    expect(cancelled.status).to.equal(200);
    const [tenant] = cancelled.body.tenants as TenantOutcome[];
    expect(tenant?.state).to.equal('ADMITTED');
    expect(tenant?.run_id).to.be.a('string');
  });
});
