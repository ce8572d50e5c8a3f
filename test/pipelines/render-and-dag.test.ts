import { expect } from 'chai';
import { newRunId } from '../../src/shared/ids';
import { blockedSteps, dagProblems, readySteps, topologicalOrder } from '../../src/pipelines/dag';
import { buildRenderContext, renderTableName, renderText } from '../../src/pipelines/render';
import { placeholderNames, sqlParamNames } from '../../src/pipelines/sql-scan';
import { resolveTenantTable } from '../../src/warehouse/tenant-table';
import type { NodeStatus } from '../../src/pipelines/dag';
import { inlineTemplate } from './helpers';

const template = inlineTemplate(`
description: render fixture
variables:
  source_table: "{tenant_id}.gcp_billing_export_v1"
  region: europe-west1
steps:
  - id: a
    type: query
    sql: "SELECT '{pipeline_id}' AS p, '{region}' AS r FROM \`{source_table}\`"
`);

describe('rendering', () => {
  const runId = newRunId();
  const identity = { tenantId: 'acme_corp', provider: 'test', domain: 'pipe', templateName: 'sample', pipelineLoggingId: runId };

  describe('a run context', () => {
    it('substitutes built-ins and variables, variables using built-ins', () => {
      const ctx = buildRenderContext(template, identity);
      expect(renderText('{tenant_id}|{pipeline_id}|{pipeline_logging_id}|{provider}|{domain}|{template_name}|{source_table}|{region}', ctx)).to.equal(
        `acme_corp|acme_corp-test-pipe-sample|${runId}|test|pipe|sample|acme_corp.gcp_billing_export_v1|europe-west1`,
      );
    });

    it('takes source_table from the caller when the resolver made it for this tenant', () => {
      const own = resolveTenantTable({ kind: 'duckdb' }, 'acme_corp', 'acme_corp.my_export');
      expect(buildRenderContext(template, identity, { source_table: own })['source_table']).to.equal('acme_corp.my_export');
      const billingProject = resolveTenantTable({ kind: 'bigquery', platformProjectId: 'platform-prod' }, 'acme_corp', 'acme-billing.exports.gcp_billing_export_v1_0123');
      expect(buildRenderContext(template, identity, { source_table: billingProject })['source_table']).to.equal('acme-billing.exports.gcp_billing_export_v1_0123');
    });

    it('refuses a source_table resolved for another tenant', () => {
      const theirs = resolveTenantTable({ kind: 'duckdb' }, 'other_corp', 'other_corp.gcp_billing_export_v1');
      expect(() => buildRenderContext(template, identity, { source_table: theirs })).to.throw(/resolved for another tenant/);
    });

    it('refuses a source_table the resolver did not make: a string, a look-alike object, a prototype copy', () => {
      const own = resolveTenantTable({ kind: 'duckdb' }, 'acme_corp', 'acme_corp.my_export');
      const forged: unknown[] = [
        'beta_inc.gcp_billing_export_v1',
        { tenantId: 'acme_corp', project: null, dataset: 'beta_inc', table: 'gcp_billing_export_v1', sqlReference: 'beta_inc.gcp_billing_export_v1' },
        Object.assign(Object.create(Object.getPrototypeOf(own) as object) as object, { dataset: 'beta_inc', table: 'gcp_billing_export_v1' }),
      ];
      for (const value of forged) {
        expect(() => buildRenderContext(template, identity, { source_table: value as never }), JSON.stringify(value)).to.throw(/not a table reference resolved by the platform/);
      }
    });

    it('refuses to construct a resolved table outside the resolver', () => {
      const own = resolveTenantTable({ kind: 'duckdb' }, 'acme_corp', 'gcp_billing_export_v1');
      const Ctor = own.constructor as new (...args: unknown[]) => unknown;
      expect(() => new Ctor(Symbol('resolveTenantTable'), 'acme_corp', null, 'beta_inc', 'gcp_billing_export_v1')).to.throw(TypeError);
    });

    it('refuses identities that are not allow-listed identifiers', () => {
      expect(() => buildRenderContext(template, { ...identity, tenantId: 'Acme; DROP' })).to.throw(/tenant_id/);
      expect(() => buildRenderContext(template, { ...identity, pipelineLoggingId: 'not-a-uuid' })).to.throw(/UUID/);
    });
  });

  describe('table names', () => {
    it('must render to a plain identifier', () => {
      const ctx = buildRenderContext(template, identity);
      expect(renderTableName('{template_name}_daily', ctx)).to.equal('sample_daily');
      expect(() => renderTableName('{pipeline_id}', ctx)).to.throw(/not a valid identifier/);
    });
  });

  describe('scanning SQL', () => {
    it('finds @params outside literals, identifiers and comments', () => {
      const sql = "SELECT @date, 'ops@example.com', `a@b`, @@project_id -- @nope\n /* @nope2 */ FROM t WHERE x = @limit AND y = @date";
      expect(sqlParamNames(sql)).to.deep.equal(['date', 'limit']);
    });

    it('finds placeholders anywhere, literals included', () => {
      expect(placeholderNames("SELECT '{tenant_id}' FROM `{tenant_id}.{table}` WHERE j = '{\"a\":1}'")).to.deep.equal(['tenant_id', 'table']);
    });
  });
});

describe('the step DAG', () => {
  const nodes = [
    { id: 'extract', depends_on: [] },
    { id: 'load', depends_on: ['extract'] },
    { id: 'audit', depends_on: [] },
    { id: 'check', depends_on: ['load', 'audit'] },
  ];
  const status = (entries: Array<[string, NodeStatus]>): Map<string, NodeStatus> => new Map([...nodes.map((n): [string, NodeStatus] => [n.id, 'PENDING']), ...entries]);

  it('orders steps after their dependencies', () => {
    expect(topologicalOrder(nodes).map((n) => n.id)).to.deep.equal(['extract', 'audit', 'load', 'check']);
  });

  it('makes independent steps ready together', () => {
    expect(readySteps(nodes, status([])).map((n) => n.id)).to.deep.equal(['extract', 'audit']);
    expect(readySteps(nodes, status([['extract', 'COMPLETED'], ['audit', 'RUNNING']])).map((n) => n.id)).to.deep.equal(['load']);
  });

  it('blocks the dependants of a failed step', () => {
    expect(blockedSteps(nodes, status([['extract', 'FAILED']])).map((n) => n.id)).to.deep.equal(['load']);
  });

  it('detects cycles, self-dependencies, unknown and duplicate ids', () => {
    expect(dagProblems([{ id: 'a', depends_on: ['b'] }, { id: 'b', depends_on: ['a'] }])[0]?.message).to.match(/cycle: a -> b -> a/);
    expect(dagProblems([{ id: 'a', depends_on: ['a'] }])[0]?.message).to.match(/depends on itself/);
    expect(dagProblems([{ id: 'a', depends_on: ['z'] }])[0]?.message).to.match(/unknown step "z"/);
    expect(dagProblems([{ id: 'a', depends_on: [] }, { id: 'a', depends_on: [] }])[0]?.message).to.match(/duplicate/);
    expect(dagProblems(nodes)).to.deep.equal([]);
  });
});
