import { expect } from 'chai';
import { startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { eventually } from '../helpers/polling';

/**
 * A worker with no run in flight writes the log rows it gathered at once: nothing more is coming to batch them
 * with. The writer's interval here is ten minutes, so a row in the warehouse view within the poll's bound can
 * only come from the idle flush.
 */
const TENANT = 'idle_corp';

describe('run log rows of an idle worker', function () {
  this.timeout(60_000);
  let t: TestSystem;

  before(async () => {
    t = await startTestSystem({ logFlushIntervalMs: 600_000 });
    await t.system.apiDeps().tenants.onboard({ tenant_id: TENANT, company_name: 'Idle Inc', admin_email: 'admin@idle.com', subscription_plan: 'STARTER' });
  });
  after(async () => t?.close());

  it('reach the warehouse once the worker has nothing in flight, without waiting for the interval', async () => {
    const { pipelineLoggingId } = await t.system.runs.trigger({ tenantId: TENANT, provider: 'gcp', domain: 'cost', templateName: 'dryrun', parameters: {}, userId: null, triggerType: 'api' });
    const status = await eventually('the run row in x_meta_pipeline_runs', async () => {
      const { rows } = await t.warehouse.query(`SELECT status FROM \`${TENANT}.x_meta_pipeline_runs\` WHERE pipeline_logging_id = @id`, { params: { id: pipelineLoggingId } });
      const s = rows[0]?.['status'];
      return s === 'COMPLETED' || s === 'FAILED' ? String(s) : undefined;
    }, 20_000, 100);
    expect(status).to.equal('COMPLETED');
    expect(t.system.logWriter.pendingCount()).to.equal(0);
  });
});
