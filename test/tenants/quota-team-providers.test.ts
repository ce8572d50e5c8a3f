import { expect } from 'chai';
import { createTestRedis } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';
import { ManualClock } from '../../src/shared/clock';
import { AppError } from '../../src/shared/errors';
import { TeamAndProviders } from '../../src/tenants/team-and-providers';
import { writeProfileCache } from '../../src/tenants/profile-cache';
import { STARTER_PROFILE as STARTER } from '../helpers/profiles';


const DAY_MS = 24 * 3600 * 1000;

async function settle<T>(p: Promise<T>): Promise<T | AppError> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
}

describe('team and provider limits', () => {
  const tenantId = 'acme_corp';
  let t: TestRedis;
  let clock: ManualClock;
  let limits: TeamAndProviders;

  beforeEach(async () => {
    t = await createTestRedis();
    clock = new ManualClock('2025-03-10T12:00:00.000Z');
    limits = new TeamAndProviders({ redis: t.redis, keys: t.keys, clock });
    await writeProfileCache(t.redis, t.keys, tenantId, STARTER);
  });
  afterEach(async () => t.cleanup());

  describe('team members', () => {
    describe('when the team is full', () => {
      it('answers 403 TEAM_LIMIT_REACHED for a new user and lets known users in', async () => {
        expect(await limits.touchTeamMember(tenantId, 'alice')).to.equal('added');
        expect(await limits.touchTeamMember(tenantId, 'bob')).to.equal('added');
        const err = await settle(limits.touchTeamMember(tenantId, 'carol'));
        expect(err).to.be.instanceOf(AppError);
        expect([(err as AppError).status, (err as AppError).code]).to.deep.equal([403, 'TEAM_LIMIT_REACHED']);
        expect(await limits.touchTeamMember(tenantId, 'alice')).to.equal('known');
        expect(await limits.teamMemberCount(tenantId)).to.equal(2);
      });
    });

    describe('when many new users arrive at once', () => {
      it('admits exactly the team size', async () => {
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => settle(limits.touchTeamMember(tenantId, `user${i}`))));
        expect(results.filter((r) => r === 'added')).to.have.length(2);
        expect(results.filter((r) => r instanceof AppError && r.code === 'TEAM_LIMIT_REACHED')).to.have.length(18);
      });
    });

    describe('when a member has not been seen for 30 days', () => {
      it('frees the seat', async () => {
        await limits.touchTeamMember(tenantId, 'alice');
        clock.advance(DAY_MS);
        await limits.touchTeamMember(tenantId, 'bob');
        clock.advance(29 * DAY_MS + 1);
        expect(await limits.touchTeamMember(tenantId, 'carol')).to.equal('added');
        expect(await limits.teamMemberCount(tenantId)).to.equal(2);
      });
    });

    describe('when the profile is not cached', () => {
      it('answers profile_missing for a new user', async () => {
        await t.redis.del(t.keys.tenantProfile(tenantId));
        expect(await limits.touchTeamMember(tenantId, 'alice')).to.equal('profile_missing');
      });
    });
  });

  describe('providers', () => {
    describe('when the provider limit is reached', () => {
      it('answers 403 PROVIDER_LIMIT_REACHED for a new provider and accepts known ones in any case', async () => {
        for (const p of ['gcp', 'aws', 'azure']) expect(await limits.touchProvider(tenantId, p)).to.equal('added');
        const err = await settle(limits.touchProvider(tenantId, 'snowflake'));
        expect([(err as AppError).status, (err as AppError).code]).to.deep.equal([403, 'PROVIDER_LIMIT_REACHED']);
        expect(await limits.touchProvider(tenantId, 'GCP')).to.equal('known');
        expect(await limits.providerCount(tenantId)).to.equal(3);
      });
    });

    describe('when a provider is forgotten', () => {
      it('frees its seat', async () => {
        for (const p of ['gcp', 'aws', 'azure']) await limits.touchProvider(tenantId, p);
        expect(await limits.forgetProvider(tenantId, 'AWS')).to.equal(true);
        expect(await limits.touchProvider(tenantId, 'snowflake')).to.equal('added');
      });
    });

    describe('when many new providers arrive at once', () => {
      it('admits exactly the limit', async () => {
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => settle(limits.touchProvider(tenantId, `p${i}`))));
        expect(results.filter((r) => r === 'added')).to.have.length(3);
      });
    });
  });
});
