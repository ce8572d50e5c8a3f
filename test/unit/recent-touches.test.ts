import { expect } from 'chai';
import { AppError } from '../../src/shared/errors';
import { RecentTouches } from '../../src/tenants/recent-touches';
import type { TouchResult } from '../../src/tenants/team-and-providers';

describe('RecentTouches', () => {
  const counting = (result: TouchResult | Error) => {
    const calls = { n: 0 };
    const confirm = async (): Promise<TouchResult> => {
      calls.n += 1;
      if (result instanceof Error) throw result;
      return result;
    };
    return { calls, confirm };
  };

  it('asks Redis once per seat within the window, again after it', async () => {
    const touches = new RecentTouches(1000);
    const { calls, confirm } = counting('known');
    await touches.touch('u|acme|alice', 0, confirm);
    await touches.touch('u|acme|alice', 999, confirm);
    expect(calls.n).to.equal(1);
    await touches.touch('u|acme|alice', 1000, confirm);
    expect(calls.n).to.equal(2);
  });

  it('never remembers a refused seat: every attempt is checked again', async () => {
    const touches = new RecentTouches(1000);
    const { calls, confirm } = counting(new AppError(403, 'TEAM_LIMIT_REACHED', 'full'));
    for (let i = 0; i < 3; i += 1) {
      try {
        await touches.touch('u|acme|carol', 10, confirm);
        expect.fail('should throw');
      } catch (err) {
        expect((err as AppError).code).to.equal('TEAM_LIMIT_REACHED');
      }
    }
    expect(calls.n).to.equal(3);
  });

  it('does not remember a seat whose profile was missing, and forgets on request', async () => {
    const touches = new RecentTouches(1000);
    const missing = counting('profile_missing');
    await touches.touch('p|acme|gcp', 0, missing.confirm);
    await touches.touch('p|acme|gcp', 1, missing.confirm);
    expect(missing.calls.n).to.equal(2);
    const known = counting('added');
    await touches.touch('p|acme|aws', 0, known.confirm);
    touches.forget('p|acme|aws');
    await touches.touch('p|acme|aws', 1, known.confirm);
    expect(known.calls.n).to.equal(2);
  });
});
