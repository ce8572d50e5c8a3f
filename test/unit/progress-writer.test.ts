import { expect } from 'chai';
import { progressWriter } from '../../src/workers/progress-writer';
import type { RunProgress } from '../../src/pipelines/types';

const progressOf = (stepsDone: number): RunProgress => ({ stepsDone, stepsTotal: 3, steps: [] });
const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('progressWriter (a run’s progress writes to its live record)', () => {
  it('writes only the latest of the progresses reported within one turn of the event loop', async () => {
    const written: number[] = [];
    const writer = progressWriter(async (p) => void written.push(p.stepsDone), () => undefined);
    writer.report(progressOf(0));
    writer.report(progressOf(1));
    await nextTurn();
    writer.report(progressOf(2));
    await nextTurn();
    expect(written).to.deep.equal([1, 2]);
  });

  it('drops a progress not yet written when the run ends, and ignores later reports', async () => {
    const written: number[] = [];
    const writer = progressWriter(async (p) => void written.push(p.stepsDone), () => undefined);
    writer.report(progressOf(1));
    await nextTurn();
    writer.report(progressOf(3));
    writer.stop();
    writer.report(progressOf(3));
    await nextTurn();
    await nextTurn();
    expect(written).to.deep.equal([1]);
  });

  describe('with a write interval', () => {
    it('writes the latest progress once the interval passed, and nothing for a run that ended within it', async () => {
      const written: number[] = [];
      const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
      const ended = progressWriter(async (p) => void written.push(p.stepsDone), () => undefined, 20);
      ended.report(progressOf(1));
      ended.stop();
      const live = progressWriter(async (p) => void written.push(p.stepsDone + 10), () => undefined, 20);
      live.report(progressOf(1));
      live.report(progressOf(2));
      await nextTurn();
      expect(written, 'nothing within the interval').to.deep.equal([]);
      await wait(40);
      expect(written).to.deep.equal([12]);
      live.stop();
    });
  });

  it('hands a failed write to the error callback instead of rejecting unhandled', async () => {
    const errors: string[] = [];
    const writer = progressWriter(() => Promise.reject(new Error('redis down')), (err) => errors.push(err.message));
    writer.report(progressOf(1));
    await nextTurn();
    await nextTurn();
    expect(errors).to.deep.equal(['redis down']);
  });
});
