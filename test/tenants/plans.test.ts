import path from 'node:path';
import { expect } from 'chai';
import { loadPlans, parsePlans, PlanConfigError } from '../../src/tenants/plans';

const CONFIGS_DIR = path.resolve(__dirname, '../../configs');

describe('plans', () => {
  describe('when configs/plans.yml is loaded', () => {
    const plans = loadPlans(CONFIGS_DIR);

    it("holds the guide's table with monthly = daily × 30", () => {
      expect(plans.names()).to.deep.equal(['STARTER', 'PROFESSIONAL', 'SCALE']);
      const GIB = 1024 ** 3;
      const TIB = 1024 ** 4;
      expect(plans.get('STARTER')).to.deep.equal({
        name: 'STARTER', dailyLimit: 6, monthlyLimit: 180, concurrentLimit: 3, teamLimit: 2, providerLimit: 3, backfillMaxDays: 31, backfillMaxActive: 3, webhookEndpoints: 2,
        maxBytesBilledPerQuery: 10 * GIB, dailyBytesBudget: 50 * GIB,
      });
      expect(plans.get('PROFESSIONAL')).to.deep.equal({
        name: 'PROFESSIONAL', dailyLimit: 25, monthlyLimit: 750, concurrentLimit: 5, teamLimit: 6, providerLimit: 6, backfillMaxDays: 92, backfillMaxActive: 5, webhookEndpoints: 5,
        maxBytesBilledPerQuery: 100 * GIB, dailyBytesBudget: TIB,
      });
      expect(plans.get('SCALE')).to.deep.equal({
        name: 'SCALE', dailyLimit: 100, monthlyLimit: 3000, concurrentLimit: 10, teamLimit: 11, providerLimit: 10, backfillMaxDays: 366, backfillMaxActive: 10, webhookEndpoints: 20,
        maxBytesBilledPerQuery: TIB, dailyBytesBudget: 10 * TIB,
      });
    });

    it('finds plans case-insensitively and defaults to STARTER', () => {
      expect(plans.get('professional')?.name).to.equal('PROFESSIONAL');
      expect(plans.get('Scale')?.name).to.equal('SCALE');
      expect(plans.get('ENTERPRISE')).to.equal(undefined);
      expect(plans.defaultPlan.name).to.equal('STARTER');
    });
  });

  describe('when a plan gives its own monthly limit', () => {
    it('keeps it', () => {
      const plans = parsePlans({
        default: 'x',
        plans: { X: { daily_limit: 10, monthly_limit: 50, concurrent_limit: 1, team_limit: 1, provider_limit: 1 } },
      });
      expect(plans.get('x')?.monthlyLimit).to.equal(50);
    });
  });

  describe('when the file is invalid', () => {
    it('refuses a missing limit, naming it', () => {
      expect(() => parsePlans({ default: 'A', plans: { A: { daily_limit: 1, concurrent_limit: 1, team_limit: 1 } } })).to.throw(
        PlanConfigError,
        /provider_limit/,
      );
    });

    it('refuses a negative limit', () => {
      expect(() =>
        parsePlans({ default: 'A', plans: { A: { daily_limit: -1, concurrent_limit: 1, team_limit: 1, provider_limit: 1 } } }),
      ).to.throw(PlanConfigError, /daily_limit/);
    });

    it('refuses a default plan that is not defined', () => {
      expect(() =>
        parsePlans({ default: 'GOLD', plans: { A: { daily_limit: 1, concurrent_limit: 1, team_limit: 1, provider_limit: 1 } } }),
      ).to.throw(PlanConfigError, /GOLD/);
    });

    it('refuses a missing file', () => {
      expect(() => loadPlans('/nonexistent-dir')).to.throw(PlanConfigError, /cannot read/);
    });
  });
});
