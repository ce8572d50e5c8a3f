import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { isAppError } from '../../src/shared/errors';
import { createTemplateRegistry, loadTemplateFile, loadTemplateRegistry } from '../../src/pipelines/template-registry';
import type { AppError } from '../../src/shared/errors';
import { BILLING_CREDITS_REWRITE } from '../helpers/fake-bigquery/rewrites';

const CONFIGS = path.resolve(__dirname, '../../configs');
const FIXTURES = path.resolve(__dirname, '../fixtures/templates');

function loadError(fixture: string): AppError {
  try {
    loadTemplateFile(path.join(FIXTURES, fixture), 'test', 'broken', fixture.replace(/[-.]/g, '_'));
  } catch (err) {
    if (isAppError(err)) return err;
    throw err;
  }
  throw new Error(`${fixture} loaded without error`);
}

describe('pipeline templates', () => {
  describe('the shipped templates under configs/', () => {
    const files = fs
      .readdirSync(CONFIGS, { recursive: true, encoding: 'utf8' })
      .filter((f) => /^[^/]+\/[^/]+\/[^/]+\.ya?ml$/.test(f.split(path.sep).join('/')));

    it('include the dryrun, billing_cost and mtd_cost_by_project templates of gcp/cost', () => {
      const registry = loadTemplateRegistry(CONFIGS);
      for (const name of ['dryrun', 'billing_cost', 'mtd_cost_by_project']) expect(registry.get('gcp', 'cost', name), name).to.not.equal(undefined);
    });

    for (const file of files) {
      it(`${file} passes validation`, () => {
        const [provider, domain, name] = file.replace(/\.ya?ml$/, '').split(path.sep);
        const t = loadTemplateFile(path.join(CONFIGS, file), provider ?? '', domain ?? '', name ?? '');
        expect(t.steps.length).to.be.greaterThan(0);
      });
    }

    it('keep the BigQuery and DuckDB texts of a query identical apart from the credits expression', () => {
      const registry = loadTemplateRegistry(CONFIGS);
      const [bq, duck] = BILLING_CREDITS_REWRITE;
      const norm = (s: string): string => s.replace(/\s+/g, ' ').trim();
      for (const name of ['billing_cost', 'mtd_cost_by_project']) {
        for (const step of registry.get('gcp', 'cost', name)?.steps ?? []) {
          if (step.type !== 'query' || !step.sql_overrides?.duckdb) continue;
          expect(norm(step.sql.split(bq).join('CREDITS')), `${name}.${step.id}`).to.equal(norm(step.sql_overrides.duckdb.split(duck).join('CREDITS')));
          expect(step.sql).to.include(bq);
        }
      }
    });

    it('lists each template with its declared parameters, the date defaulting to yesterday', () => {
      const summary = loadTemplateRegistry(CONFIGS).list().find((t) => t.name === 'billing_cost');
      expect(summary).to.deep.include({ provider: 'gcp', domain: 'cost', name: 'billing_cost', version: '1.0.0' });
      expect(summary?.parameters).to.deep.equal([
        { name: 'date', type: 'date', required: false, default: '@yesterday', description: 'Usage day to process (YYYY-MM-DD, UTC); defaults to yesterday' },
      ]);
    });

    it('are found case-insensitively by provider and domain', () => {
      const registry = loadTemplateRegistry(CONFIGS);
      expect(registry.get('GCP', 'Cost', 'dryrun')?.name).to.equal('dryrun');
      expect(registry.get('gcp', 'cost', 'nope')).to.equal(undefined);
    });
  });

  describe('when a template is broken', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['unknown-step-type.yml', 'steps.0.type', /must be one of \[query, data_quality, dryrun\]/],
      ['missing-sql.yml', 'steps.0.sql', /is required/],
      ['bad-write-mode.yml', 'steps.0.destination.write_mode', /must be one of/],
      ['cycle.yml', 'steps.0.depends_on', /cycle: a -> c -> b -> a/],
      ['unknown-dependency.yml', 'steps.1.depends_on', /unknown step "nope"/],
      ['undeclared-parameter.yml', 'steps.0.sql', /undeclared parameter @day/],
      ['unknown-placeholder.yml', 'steps.0.sql', /unknown placeholder \{tenant\}/],
      ['bad-default.yml', 'parameters.date.default', /must be a date/],
      ['reserved-parameter.yml', 'parameters.tenant_id', /reserved/],
      ['partition-param-undeclared.yml', 'steps.0.destination.partition_param', /not a declared parameter/],
      ['bad-check.yml', 'steps.0.checks.0.max_age', /pattern/],
      ['bad-yaml.yml', '', /YAML syntax error/],
    ];
    for (const [fixture, key, message] of cases) {
      it(`${fixture} fails naming the file${key ? ` and ${key}` : ''}`, () => {
        const err = loadError(fixture);
        expect(err.code).to.equal('TEMPLATE_INVALID');
        expect(err.message).to.contain(path.join(FIXTURES, fixture));
        expect(err.extra?.['key']).to.equal(key);
        expect(err.message).to.match(message);
      });
    }

    it('stops loading the whole registry', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-tpl-'));
      try {
        fs.mkdirSync(path.join(dir, 'gcp', 'cost'), { recursive: true });
        fs.copyFileSync(path.join(FIXTURES, 'cycle.yml'), path.join(dir, 'gcp', 'cost', 'cycle.yml'));
        expect(() => loadTemplateRegistry(dir)).to.throw(/gcp\/cost\/cycle\.yml: steps\.0\.depends_on/);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('an empty registry', () => {
    it('lists nothing', () => {
      expect(createTemplateRegistry([]).list()).to.deep.equal([]);
    });
  });
});
