import { expect } from 'chai';
import type { AppError } from '../../src/shared/errors';
import { resolveRelativeDate, validateRunParameters } from '../../src/pipelines/parameters';
import { inlineTemplate } from './helpers';

const template = inlineTemplate(`
description: every parameter type
parameters:
  date: { type: date, default: "@yesterday" }
  limit: { type: integer, min: 1, max: 1000, default: 100 }
  ratio: { type: number, required: false }
  dry: { type: boolean, default: false }
  tier: { type: enum, values: [gold, silver], default: silver }
  label: { type: string, max_length: 20, required: true }
steps:
  - { id: a, type: dryrun }
`);
const NOW = new Date('2025-11-15T00:30:00Z');

function rejected(raw: Record<string, unknown>): AppError {
  try {
    validateRunParameters(template, raw, NOW);
  } catch (err) {
    return err as AppError;
  }
  throw new Error('parameters were accepted');
}

describe('run parameters', () => {
  describe('when only the required ones are given', () => {
    it('fills in the defaults, resolving @yesterday in UTC at trigger time', () => {
      expect(validateRunParameters(template, { label: 'x' }, NOW)).to.deep.equal({
        date: '2025-11-14',
        limit: 100,
        ratio: null,
        dry: false,
        tier: 'silver',
        label: 'x',
      });
    });
  });

  describe('when every value is given and well typed', () => {
    it('keeps them as given', () => {
      const out = validateRunParameters(template, { date: '2024-02-29', limit: 5, ratio: 0.5, dry: true, tier: 'gold', label: 'y' }, NOW);
      expect(out).to.deep.equal({ date: '2024-02-29', limit: 5, ratio: 0.5, dry: true, tier: 'gold', label: 'y' });
    });
  });

  describe('relative dates', () => {
    it('resolve @today, @yesterday, @today-7d and @month_start against the UTC day', () => {
      const late = new Date('2025-03-01T23:59:00Z');
      expect(resolveRelativeDate('@today', late)).to.equal('2025-03-01');
      expect(resolveRelativeDate('@yesterday', late)).to.equal('2025-02-28');
      expect(resolveRelativeDate('@today-7d', late)).to.equal('2025-02-22');
      expect(resolveRelativeDate('@month_start', late)).to.equal('2025-03-01');
      expect(resolveRelativeDate('yesterday', late)).to.equal(undefined);
    });
  });

  describe('when a value is ill-typed', () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['date', '2025-02-30', /"date" must be a date in YYYY-MM-DD format/],
      ['date', 20251114, /"date" must be a date/],
      ['limit', 1.5, /"limit" must be an integer/],
      ['limit', '5', /"limit" must be an integer/],
      ['limit', 5000, /less than or equal to 1000/],
      ['ratio', 'NaN', /"ratio" must be a number/],
      ['dry', 'true', /"dry" must be a boolean/],
      ['tier', 'bronze', /must be one of \[gold, silver\]/],
      ['label', 'x'.repeat(21), /at most 20 characters/],
    ];
    for (const [field, value, message] of cases) {
      it(`answers 422 naming "${field}" for ${JSON.stringify(value)}`, () => {
        const err = rejected({ label: 'ok', [field]: value });
        expect(err.status).to.equal(422);
        expect(err.code).to.equal('VALIDATION_ERROR');
        expect(err.errors).to.have.length(1);
        expect(err.errors?.[0]?.field).to.equal(field);
        expect(err.errors?.[0]?.message).to.match(message);
      });
    }
  });

  describe('when a required value is missing', () => {
    it('answers 422 naming it', () => {
      expect(rejected({}).errors).to.deep.equal([{ field: 'label', message: '"label" is required' }]);
    });
  });

  describe('when the body carries keys the template does not declare', () => {
    for (const key of ['tenant_id', 'dataset', 'project', 'pipeline_logging_id', 'limitt']) {
      it(`refuses "${key}" with 422 naming it`, () => {
        const err = rejected({ label: 'ok', [key]: 'other_corp' });
        expect(err.errors).to.deep.equal([{ field: key, message: `"${key}" is not a parameter of test/pipe/sample` }]);
      });
    }
  });

  describe('when the date carries an injection attempt', () => {
    it('answers 422: a date is only ever YYYY-MM-DD', () => {
      const err = rejected({ label: 'ok', date: "2025-11-14'; DROP TABLE acme_corp.x_meta_pipeline_runs; --" });
      expect(err.errors?.[0]?.field).to.equal('date');
    });
  });

  describe('when several fields are wrong', () => {
    it('lists every one of them', () => {
      const err = rejected({ date: 'x', limit: 0, extra: 1 });
      expect(err.errors?.map((e) => e.field).sort()).to.deep.equal(['date', 'extra', 'label', 'limit']);
    });
  });
});
