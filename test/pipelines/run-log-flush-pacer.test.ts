import { expect } from 'chai';
import { FlushPacer } from '../../src/pipelines/flush-pacer';

describe('run log flush pacer', () => {
  describe('while flushes are cheap', () => {
    it('keeps the base interval', () => {
      const pacer = new FlushPacer(500, 5000, 10);
      expect(pacer.intervalMs()).to.equal(500);
      pacer.flushed(20);
      expect(pacer.intervalMs()).to.equal(500);
    });
  });

  describe('while flushes are busy', () => {
    it('waits busyFactor times the last flush, up to the maximum', () => {
      const pacer = new FlushPacer(500, 5000, 10);
      pacer.flushed(150);
      expect(pacer.intervalMs()).to.equal(1500);
      pacer.flushed(2000);
      expect(pacer.intervalMs()).to.equal(5000);
    });

    it('comes back to the base interval once flushes are cheap again', () => {
      const pacer = new FlushPacer(500, 5000, 10);
      pacer.flushed(400);
      pacer.flushed(3);
      expect(pacer.intervalMs()).to.equal(500);
    });
  });

  describe('when the maximum is below the base', () => {
    it('never goes below the base interval', () => {
      const pacer = new FlushPacer(500, 100, 10);
      pacer.flushed(1000);
      expect(pacer.intervalMs()).to.equal(500);
    });
  });
});
