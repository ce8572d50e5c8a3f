import { expect } from 'chai';
import { createTestRedis } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';
import { DirtyMarks } from '../../src/tenants/admission';

describe('usage-dirty marks', () => {
  let t: TestRedis;
  let sadds: string[][];

  beforeEach(async () => {
    t = await createTestRedis();
    sadds = [];
    const sadd = t.redis.sadd.bind(t.redis) as (key: string, ...members: string[]) => Promise<number>;
    (t.redis as unknown as { sadd: typeof sadd }).sadd = (key, ...members) => {
      sadds.push(members);
      return sadd(key, ...members);
    };
  });
  afterEach(async () => t.cleanup());

  it('writes the marks asked for together in one SADD, ahead of what their callers send next', async () => {
    const marks = new DirtyMarks(t.redis, t.keys);
    // As Admission.admit does: mark without waiting, then return to the caller.
    const admitLike = async (tenant: string): Promise<void> => {
      await t.redis.ping();
      void marks.mark(tenant);
    };
    await Promise.all(['acme_corp', 'beta_inc', 'acme_corp'].map(admitLike));
    const seen = await t.redis.smembers(t.keys.usageDirty());
    expect(seen.sort()).to.deep.equal(['acme_corp', 'beta_inc']);
    expect([...new Set(sadds.flat())].sort()).to.deep.equal(['acme_corp', 'beta_inc']);
  });

  it('writes marks made in one go in one SADD', async () => {
    const marks = new DirtyMarks(t.redis, t.keys);
    await Promise.all(['acme_corp', 'beta_inc', 'acme_corp', 'gamma'].map((tenant) => marks.mark(tenant)));
    expect(sadds).to.deep.equal([['acme_corp', 'beta_inc', 'gamma']]);
  });

  it('writes a later mark in a SADD of its own', async () => {
    const marks = new DirtyMarks(t.redis, t.keys);
    await marks.mark('acme_corp');
    await marks.mark('beta_inc');
    expect(sadds).to.deep.equal([['acme_corp'], ['beta_inc']]);
  });

  it('never rejects: a failed write only delays the usage row', async () => {
    const marks = new DirtyMarks(t.redis, t.keys);
    (t.redis as unknown as { sadd: () => Promise<number> }).sadd = () => Promise.reject(new Error('Redis is down'));
    await marks.mark('acme_corp');
    expect(await t.redis.scard(t.keys.usageDirty())).to.equal(0);
  });
});
