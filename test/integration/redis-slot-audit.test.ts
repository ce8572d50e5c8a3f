import { expect } from 'chai';
import { generateApiKey } from '../../src/security/api-keys';
import { eventually } from '../helpers/polling';
import { dueMember } from '../../src/scheduler/due-index';
import { BytesBudget } from '../../src/tenants/bytes-budget';
import { createTestRedis } from '../helpers/redis';
import { singleRedis } from '../helpers/redis-targets';
import { PRODUCT_SCRIPTS, startSlotAudit } from '../helpers/slot-audit';
import type { SlotAudit } from '../helpers/slot-audit';
import { onboard, startTestSystem, waitForRun } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { WebhookReceiver } from '../helpers/webhook-receiver';

/**
 * Issue 10.3, the check that cannot drift: on a single Redis server nothing refuses a script or MULTI
 * whose keys span cluster slots, so this suite drives every routine of the product through its real
 * call sites (HTTP API, worker, scheduler routines) and audits what was sent: every script of
 * src/redis/scripts must have been called, and no script call, MULTI or multi-key command may span
 * slots. A new script that no routine here reaches fails the first check; a new cross-slot call fails
 * the second — without a cluster (so it always runs on the single server). The cluster suites prove the
 * same at runtime.
 */
const TENANT = 'audit_corp';
const MINUTE = 60_000;

describe('the Redis commands of every routine, as Redis Cluster would judge them', function () {
  this.timeout(60_000);
  let audit: SlotAudit;
  let t: TestSystem;
  let key: string;
  let failEnqueue = false;
  let receiver: WebhookReceiver;

  const trigger = () => t.request.post(`/api/v1/pipelines/run/${TENANT}/gcp/cost/dryrun`).set('X-API-Key', key).set('X-User-ID', 'alice');

  before(async () => {
    audit = startSlotAudit();
    receiver = await new WebhookReceiver().start();
    t = await startTestSystem({ redis: await singleRedis.target(), env: { WEBHOOK_ALLOW_PRIVATE: 'true' }, runFaults: { beforeEnqueue: async () => {
      if (failEnqueue) throw new Error('Connection is closed.');
    } } });
    const { routines } = t.system.scheduler;
    const { redis } = t.system.clients;
    const keys = t.system.keys;
    key = await onboard(t, TENANT, 'STARTER');

    // A run end to end: auth, rate limits, admission with the team and provider seats and the run record, worker, release.
    const first = await trigger();
    expect((await waitForRun(t, key, first.body.pipeline_logging_id as string)).status).to.equal('COMPLETED');
    // A cancel that comes too late: the run-cancel script finds the run terminal.
    expect((await t.request.delete(`/api/v1/pipelines/runs/${first.body.pipeline_logging_id as string}`).set('X-API-Key', key)).body).to.include({ code: 'RUN_ALREADY_FINISHED', status: 'COMPLETED' });

    // An enqueue that fails after admission is refunded.
    failEnqueue = true;
    expect((await trigger()).status).to.equal(503);
    failEnqueue = false;

    // Provider settings take their provider seat, and a new X-User-ID its team seat, by their own scripts.
    const settings = await t.request.put(`/api/v1/tenants/${TENANT}/providers/gcp`).set('X-API-Key', key).set('X-User-ID', 'bob').send({ settings: {} });
    expect(settings.status).to.equal(200);

    // Schedules: create, patch, delete (the config hash and the global due index in separate steps).
    const schedules = `/api/v1/scheduler/customer/${TENANT}/pipelines`;
    const body = { provider: 'gcp', domain: 'cost', pipeline_template: 'dryrun', schedule_cron: '* * * * *', timezone: 'UTC', is_active: true };
    const kept = await t.request.post(schedules).set('X-API-Key', key).send(body);
    expect(kept.status).to.equal(201);
    expect((await t.request.patch(`${schedules}/${kept.body.config_id}`).set('X-API-Key', key).send({ overlap_policy: 'allow' })).status).to.equal(200);
    const dropped = await t.request.post(schedules).set('X-API-Key', key).send(body);
    expect((await t.request.delete(`${schedules}/${dropped.body.config_id}`).set('X-API-Key', key)).status).to.equal(204);

    // The tenant at its concurrent limit (three orphaned slots): the fire waits in the deferred queue.
    const fireMs = Date.parse(kept.body.next_run_time as string);
    await redis.zadd(keys.running(TENANT), fireMs - MINUTE, 'orphan-1', fireMs - MINUTE, 'orphan-2', fireMs - MINUTE, 'orphan-3');
    expect(await routines.tick(new Date(fireMs + 1000))).to.include({ queued: 1 });
    // Orphan cleanup frees the slots; the deferred run then starts from the queue.
    expect(await routines.cleanupOrphans(new Date(fireMs + 1000))).to.include({ slots_released: 3 });
    expect(await routines.processQueue(new Date(fireMs + 2000))).to.include({ started: 1 });

    // A fire whose tick died before settling it is taken over once its lease expired.
    const member = dueMember({ tenantId: TENANT, configId: kept.body.config_id as string });
    await redis.zadd(keys.scheduleInflight(), fireMs, `${member}|${fireMs - MINUTE}`);
    await routines.tick(new Date(fireMs + 2000));

    // The maintenance routines and the reads of the admin and quota endpoints.
    await routines.refreshUsage(new Date());
    await routines.resetDailyQuotas(new Date());
    await routines.reconcileLogs(new Date());
    expect((await t.request.get(`/api/v1/tenants/${TENANT}/quota`).set('X-API-Key', key)).status).to.equal(200);
    // A guessed key of the tenant: looked up in the warehouse, cached as no key, and the tenant's keys cached.
    expect((await t.request.get(`/api/v1/tenants/${TENANT}/quota`).set('X-API-Key', generateApiKey(TENANT))).status).to.equal(401);
    await eventually('the tenant marked complete', async () => ((await redis.exists(keys.apiKeysComplete(TENANT))) === 1 ? true : undefined));
    // A guessed key of a tenant that does not exist: the tenant is marked absent (a later profile write clears that mark).
    expect((await t.request.get('/api/v1/pipelines/runs').set('X-API-Key', generateApiKey('nobody_corp'))).status).to.equal(401);
    expect((await t.request.get('/api/v1/scheduler/status').set('X-Admin-Key', t.adminKey)).status).to.equal(200);
    expect((await t.request.patch(`/api/v1/admin/tenants/${TENANT}`).set('X-Admin-Key', t.adminKey).send({ subscription_plan: 'PROFESSIONAL' })).status).to.equal(200);
    // Issue 15: a backfill (its create script, dispatch passes under its lock, the global index) and an admin fan-out.
    const backfill = await t.request.post(`/api/v1/pipelines/backfill/${TENANT}/gcp/cost/billing_cost`).set('X-API-Key', key).send({ start_date: '2025-11-01', end_date: '2025-11-02' });
    expect(backfill.status).to.equal(202);
    await t.system.batches.routines.tick(new Date(Date.now() + MINUTE));
    expect((await t.request.delete(`/api/v1/pipelines/backfills/${backfill.body.backfill_id as string}`).set('X-API-Key', key)).status).to.equal(200);
    const fanout = await t.request.post('/api/v1/admin/fanout/gcp/cost/dryrun').set('X-Admin-Key', t.adminKey).send({ selector: { tenant_ids: [TENANT] }, spread_seconds: 0 });
    expect(fanout.status).to.equal(202);
    await t.system.batches.routines.startFanoutTenant(fanout.body.fanout_id as string, TENANT);
    expect((await t.request.delete(`/api/v1/admin/fanouts/${fanout.body.fanout_id as string}`).set('X-Admin-Key', t.adminKey)).status).to.equal(200);
    // BigQuery steps' bytes budget (the embedded warehouse here has no guard): reserve, then settle.
    const budget = new BytesBudget({ redis, keys, clock: { now: () => new Date() } });
    await budget.settle(await budget.reserve(TENANT, 'audit-reservation', 1024), 1024);
    // What a cancelled BigQuery job billed, written into its ended run's live record (the finaliser's late write).
    expect(await t.system.runs.runStore.recordLateSteps(TENANT, first.body.pipeline_logging_id as string, [])).to.equal(true);
    // A progress write (the worker's, every few seconds of a long run; these runs end sooner): refused on the ended run.
    await t.system.runs.runStore.recordProgress(TENANT, first.body.pipeline_logging_id as string, { stepsDone: 0, stepsTotal: 0, steps: [] });
    // A webhook delivery: its slot taken and given back, its attempt logged.
    const hook = await t.request.post(`/api/v1/tenants/${TENANT}/webhooks`).set('X-API-Key', key).send({ url: receiver.url('/audit'), events: ['schedule.misfired'] });
    expect(hook.status).to.equal(201);
    expect(await t.system.webhooks.emitter.emit(TENANT, 'schedule.misfired', { config_id: 'audit' })).to.equal(1);
    await eventually('the attempt logged', async () => ((await redis.llen(keys.webhookAttempts(TENANT, hook.body.webhook_id as string))) > 0 ? true : undefined));
    const runs = await t.request.get('/api/v1/pipelines/runs?limit=20').set('X-API-Key', key);
    for (const run of runs.body.runs as { pipeline_logging_id: string }[]) await waitForRun(t, key, run.pipeline_logging_id);
    // The fan-out's run ended: its end is recorded in the fan-out (by the run's hook, or this read).
    expect((await t.request.get(`/api/v1/admin/fanouts/${fanout.body.fanout_id as string}`).set('X-Admin-Key', t.adminKey)).body.tenants[0].run_status).to.equal('COMPLETED');
  });
  after(async () => {
    audit?.stop();
    await t?.close();
    await receiver?.close();
  });

  it('called every script in src/redis/scripts', () => {
    expect(audit.scriptsSeen()).to.deep.equal(PRODUCT_SCRIPTS);
  });

  it('sent no script call, MULTI or multi-key command whose keys span cluster slots', () => {
    expect(audit.units.filter((u) => u.what === 'MULTI').length, 'MULTIs audited').to.be.greaterThan(5);
    expect(audit.crossSlot()).to.deep.equal([]);
  });

  describe('the audit itself', () => {
    it('reports a MULTI over two tenants’ keys', async () => {
      const own = startSlotAudit();
      const r = await createTestRedis(await singleRedis.target());
      try {
        await r.redis.multi().sadd(r.keys.providers('tenant_a'), 'gcp').sadd(r.keys.providers('tenant_b'), 'gcp').exec();
        expect(own.crossSlot()).to.deep.equal([{ what: 'MULTI', keys: [r.keys.providers('tenant_a'), r.keys.providers('tenant_b')] }]);
      } finally {
        own.stop();
        await r.cleanup();
      }
    });
  });
});
