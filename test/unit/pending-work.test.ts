import { expect } from 'chai';
import { PendingWork } from '../../src/shared/pending-work';

describe('pending work (what a graceful stop waits for)', () => {
  it('drain waits for tracked work, including work tracked while draining', async () => {
    const late = new PendingWork();
    const done: string[] = [];
    late.track(new Promise<void>((resolve) => setTimeout(() => {
      done.push('first');
      late.track(new Promise<void>((r) => setTimeout(() => (done.push('second'), r()), 20)));
      resolve();
    }, 20)));
    expect(await late.drain(5_000)).to.equal(true);
    expect(done).to.deep.equal(['first', 'second']);
  });

  it('drain gives up after its time-out, saying so', async () => {
    const late = new PendingWork();
    late.track(new Promise<void>(() => undefined));
    expect(await late.drain(30)).to.equal(false);
  });

  it('drain with nothing tracked answers at once', async () => {
    expect(await new PendingWork().drain(0)).to.equal(true);
    expect(await new PendingWork().drain()).to.equal(true);
  });
});
