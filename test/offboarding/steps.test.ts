import { expect } from 'chai';
import { defaultOffboardSteps, withStep } from '../../src/offboarding/steps';
import type { OffboardStep } from '../../src/offboarding/types';

describe('the offboarding step list', () => {
  const extra: OffboardStep = { name: 'notify_billing', run: async () => ({ detail: 'none' }), plan: async () => 'none' };

  it('runs suspend first and the tombstone last, the export before anything is deleted', () => {
    const names = defaultOffboardSteps().map((s) => s.name);
    expect(names).to.deep.equal([
      'suspend', 'cancel_backfills', 'cancel_runs', 'disable_schedules', 'disable_webhooks', 'export', 'delete_data', 'delete_webhooks', 'purge_redis', 'tombstone',
    ]);
  });

  it('takes another feature’s step right after the one it names', () => {
    const names = withStep(defaultOffboardSteps(), 'export', extra).map((s) => s.name);
    expect(names.slice(5, 8)).to.deep.equal(['export', 'notify_billing', 'delete_data']);
  });

  it('refuses an unknown anchor, so a typo fails at boot', () => {
    expect(() => withStep(defaultOffboardSteps(), 'disable_schedule', extra)).to.throw(/No offboarding step named/);
  });
});
