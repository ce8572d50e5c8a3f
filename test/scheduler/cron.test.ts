import { expect } from 'chai';
import { isValidCron, isValidTimezone, nextFireTimes, parseCron } from '../../src/scheduler/cron';

const iso = (cron: string, tz: string, after: string, count: number): string[] =>
  nextFireTimes(cron, tz, new Date(after), count).map((d) => d.toISOString());

describe('cron evaluation', () => {
  describe('in UTC', () => {
    it('fires a daily expression once a day at its time', () => {
      expect(iso('0 2 * * *', 'UTC', '2025-01-01T03:00:00Z', 2)).to.deep.equal(['2025-01-02T02:00:00.000Z', '2025-01-03T02:00:00.000Z']);
    });

    it('fires */6 hours at 0, 6, 12 and 18', () => {
      expect(iso('0 */6 * * *', 'UTC', '2025-01-01T00:00:00Z', 4)).to.deep.equal([
        '2025-01-01T06:00:00.000Z',
        '2025-01-01T12:00:00.000Z',
        '2025-01-01T18:00:00.000Z',
        '2025-01-02T00:00:00.000Z',
      ]);
    });

    it('fires on the 1st of every month', () => {
      expect(iso('0 0 1 * *', 'UTC', '2025-01-15T00:00:00Z', 3)).to.deep.equal([
        '2025-02-01T00:00:00.000Z',
        '2025-03-01T00:00:00.000Z',
        '2025-04-01T00:00:00.000Z',
      ]);
    });

    it('answers times strictly after the given instant', () => {
      expect(iso('0 2 * * *', 'UTC', '2025-01-01T02:00:00Z', 1)).to.deep.equal(['2025-01-02T02:00:00.000Z']);
    });

    it('matches either day field when both are restricted (Vixie cron)', () => {
      // The 13th, or any Friday: 2025-01-03 and 01-10 are Fridays, 01-13 is a Monday.
      expect(iso('0 0 13 * 5', 'UTC', '2025-01-01T00:00:00Z', 3)).to.deep.equal([
        '2025-01-03T00:00:00.000Z',
        '2025-01-10T00:00:00.000Z',
        '2025-01-13T00:00:00.000Z',
      ]);
    });

    it('finds 29 February years ahead', () => {
      expect(iso('0 0 29 2 *', 'UTC', '2025-01-01T00:00:00Z', 1)).to.deep.equal(['2028-02-29T00:00:00.000Z']);
    });
  });

  describe('in America/New_York on the spring-forward day (2025-03-09, 02:00 → 03:00)', () => {
    it('fires a skipped 02:30 at the next valid minute, 03:00 EDT = 07:00Z', () => {
      expect(iso('30 2 * * *', 'America/New_York', '2025-03-08T12:00:00Z', 2)).to.deep.equal([
        '2025-03-09T07:00:00.000Z',
        '2025-03-10T06:30:00.000Z',
      ]);
    });

    it('fires the times of the gap once, together, when the gap ends', () => {
      expect(iso('*/30 * * * *', 'America/New_York', '2025-03-09T06:10:00Z', 4)).to.deep.equal([
        '2025-03-09T06:30:00.000Z', // 01:30 EST
        '2025-03-09T07:00:00.000Z', // 02:00, 02:30 and 03:00 EDT collapse here
        '2025-03-09T07:30:00.000Z', // 03:30 EDT
        '2025-03-09T08:00:00.000Z',
      ]);
    });

    it('keeps times outside the gap on their usual local time', () => {
      expect(iso('0 2 * * *', 'America/New_York', '2025-03-09T12:00:00Z', 1)).to.deep.equal(['2025-03-10T06:00:00.000Z']);
    });
  });

  describe('in America/New_York on the fall-back day (2025-11-02, 02:00 → 01:00)', () => {
    it('fires a repeated 01:30 once, at its first occurrence 05:30Z', () => {
      expect(iso('30 1 * * *', 'America/New_York', '2025-11-01T12:00:00Z', 2)).to.deep.equal([
        '2025-11-02T05:30:00.000Z',
        '2025-11-03T06:30:00.000Z',
      ]);
    });

    it('does not fire the repeated hour a second time for frequent expressions', () => {
      expect(iso('*/30 * * * *', 'America/New_York', '2025-11-02T04:40:00Z', 4)).to.deep.equal([
        '2025-11-02T05:00:00.000Z', // 01:00 EDT
        '2025-11-02T05:30:00.000Z', // 01:30 EDT; 01:00 and 01:30 EST (06:00Z, 06:30Z) do not fire
        '2025-11-02T07:00:00.000Z', // 02:00 EST
        '2025-11-02T07:30:00.000Z',
      ]);
    });
  });

  describe('validation', () => {
    it('accepts 5-field expressions with names, lists, ranges and steps', () => {
      for (const cron of ['0 2 * * *', '*/15 9-17 * * MON-FRI', '0 0 1,15 JAN,JUL *', '0 0 ? * 0']) expect(isValidCron(cron), cron).to.equal(true);
    });

    it('refuses malformed, out-of-range, 6-field and L/W/# expressions', () => {
      for (const cron of ['', 'a b c d e', '0 25 * * *', '* * * * * *', '0 0 L * *', '0 0 * * 1#2', '@daily']) {
        expect(isValidCron(cron), cron).to.equal(false);
      }
    });

    it('says why an expression is refused', () => {
      expect(() => parseCron('0 2 * *')).to.throw(/5 fields/);
    });

    it('accepts IANA zones and refuses others', () => {
      expect(isValidTimezone('America/New_York')).to.equal(true);
      expect(isValidTimezone('UTC')).to.equal(true);
      expect(isValidTimezone('Mars/Olympus')).to.equal(false);
      expect(isValidTimezone('EST5')).to.equal(false);
    });
  });
});
