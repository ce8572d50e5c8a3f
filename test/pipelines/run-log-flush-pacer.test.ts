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

  describe('with the tables a flush will touch', () => {
    it('expects the last flush’s cost per table for each table waiting', () => {
      const pacer = new FlushPacer(500, 5000, 20);
      pacer.flushed(26, 13); // 2 ms per table
      expect([pacer.intervalMs(3), pacer.intervalMs(20), pacer.intervalMs(60), pacer.intervalMs(500)]).to.deep.equal([500, 800, 2400, 5000]);
    });

    it('paces even the first flush from the cost expected before any was timed', () => {
      expect(new FlushPacer(500, 5000, 20, 2).intervalMs(60)).to.equal(2400);
      expect(new FlushPacer(500, 5000, 20).intervalMs(60)).to.equal(500);
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
