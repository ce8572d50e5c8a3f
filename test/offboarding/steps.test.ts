import { expect } from 'chai';
import { defaultOffboardSteps, withStep } from '../../src/offboarding/steps';
import type { OffboardStep } from '../../src/offboarding/types';

describe('the offboarding step list', () => {
  const extra: OffboardStep = { name: 'disable_webhooks', run: async () => ({ detail: 'none' }), plan: async () => 'none' };

  it('runs suspend first and the tombstone last, the export before anything is deleted', () => {
    const names = defaultOffboardSteps().map((s) => s.name);
    expect(names).to.deep.equal(['suspend', 'cancel_runs', 'disable_schedules', 'export', 'delete_data', 'purge_redis', 'tombstone']);
  });

  it('takes another feature’s step right after the one it names', () => {
    const names = withStep(defaultOffboardSteps(), 'disable_schedules', extra).map((s) => s.name);
    expect(names.slice(2, 5)).to.deep.equal(['disable_schedules', 'disable_webhooks', 'export']);
  });

  it('refuses an unknown anchor, so a typo fails at boot', () => {
    expect(() => withStep(defaultOffboardSteps(), 'disable_schedule', extra)).to.throw(/No offboarding step named/);
  });
});
