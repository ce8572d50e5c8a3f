import { expect } from 'chai';
import { isIsoInstant } from '../../src/shared/clock';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/**
 * Every route field that takes a day or a time goes through one rule (src/api/schemas.ts: calendarDay, isoInstant).
 * Joi.date().iso() alone checks the shape and lets Date roll an impossible day over: `since=2025-02-31` was served
 * as 2025-03-03 without a word. Sample data covers only days a run's `date` parameter accepts (1900–2999).
 */
describe('calendar dates in requests', () => {
  let t: TestSystem;
  let key: string;
  before(async () => {
    t = await startTestSystem({ role: 'api' });
    key = await onboard(t, 'date_corp');
    await onboard(t, 'sample_corp');
  });
  after(async () => t.close());

  const get = (path: string) => t.request.get(path).set('X-API-Key', key);
  const sampleData = (body: object) => t.request.post('/api/v1/admin/tenants/sample_corp/sample-data').set('X-Admin-Key', t.adminKey).send(body);

  describe('time filters (run list since/until, audit from/to)', () => {
    const refused: Array<[string, string]> = [
      ['/api/v1/pipelines/runs?since=2025-02-31T00:00:00Z', 'since'],
      ['/api/v1/pipelines/runs?until=2025-04-31', 'until'],
      ['/api/v1/pipelines/runs?since=2025-02-29', 'since'],
      ['/api/v1/pipelines/runs?until=2025-03-01T24:00:00Z', 'until'],
      ['/api/v1/tenants/date_corp/audit?from=2025-02-30T00:00:00Z', 'from'],
      ['/api/v1/tenants/date_corp/audit?to=2025-13-01', 'to'],
    ];
    for (const [path, field] of refused) {
      it(`answers 422 VALIDATION_ERROR naming ${field} for ${path}`, async () => {
        const res = await get(path);
        expect([res.status, res.body.code], JSON.stringify(res.body)).to.deep.equal([422, 'VALIDATION_ERROR']);
        expect(res.body.errors[0].field).to.equal(field);
      });
    }

    it('accepts real days and times, with or without offset and fraction', async () => {
      for (const path of [
        '/api/v1/pipelines/runs?since=2024-02-29&until=2025-03-01T00:00:00Z',
        '/api/v1/pipelines/runs?since=2025-02-28T23:59:59.999Z',
        `/api/v1/tenants/date_corp/audit?from=${encodeURIComponent('2025-02-28T10:00:00+01:00')}&to=2025-12-31T23:59`,
      ]) expect((await get(path)).status, path).to.equal(200);
    });
  });

  describe('sample data', () => {
    it('answers 422 VALIDATION_ERROR naming end_date for days before 1900 (e.g. ending near year 1)', async () => {
      for (const body of [{ days: 400, end_date: '0001-01-01', rows_per_day: 1 }, { days: 2, end_date: '1900-01-01', rows_per_day: 1 }]) {
        const res = await sampleData(body);
        expect([res.status, res.body.code], JSON.stringify(res.body)).to.deep.equal([422, 'VALIDATION_ERROR']);
        expect(res.body.errors[0].field).to.equal('end_date');
      }
    });

    it('answers 422 for an end_date after 2999 or one that is no calendar day', async () => {
      for (const end_date of ['9999-12-31', '2025-02-29']) {
        const res = await sampleData({ days: 1, end_date, rows_per_day: 1 });
        expect([res.status, res.body.code], end_date).to.deep.equal([422, 'VALIDATION_ERROR']);
      }
    });

    it('loads days from 1900-01-01 on', async () => {
      const res = await sampleData({ days: 2, end_date: '1900-01-02', rows_per_day: 1 });
      expect([res.status, res.body.from_date, res.body.to_date], JSON.stringify(res.body)).to.deep.equal([200, '1900-01-01', '1900-01-02']);
    });
  });

  describe('isIsoInstant', () => {
    it('takes days and date-times that exist, and nothing Date.parse would roll over', () => {
      for (const ok of ['2024-02-29', '2025-01-01T00:00', '2025-01-01T23:59:59Z', '2025-01-01T12:00:00.123456+05:30', '2025-01-01T12:00:00-0800']) expect(isIsoInstant(ok), ok).to.equal(true);
      for (const bad of ['2025-02-29', '2025-04-31', '2025-00-10', '2025-01-01T24:00:00Z', '2025-01-01T12:60', '2025-01-01T12:00:60Z', '2025-01', '20250101', '2025-01-01T12:00:00+25:00', ' 2025-01-01']) {
        expect(isIsoInstant(bad), bad).to.equal(false);
      }
    });
  });
});
