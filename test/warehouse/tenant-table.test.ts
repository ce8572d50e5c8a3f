import { expect } from 'chai';
import { ResolvedTable, checkTenantProject, resolveTenantTable } from '../../src/warehouse/tenant-table';
import type { TableScope } from '../../src/warehouse/tenant-table';

const DUCKDB: TableScope = { kind: 'duckdb' };
const BIGQUERY: TableScope = { kind: 'bigquery', platformProjectId: 'platform-prod' };

const refusal = (fn: () => unknown): { code: string; field: string | undefined; message: string } => {
  try {
    fn();
  } catch (err) {
    const e = err as { code: string; errors?: Array<{ field: string }>; message: string };
    return { code: e.code, field: e.errors?.[0]?.field, message: e.message };
  }
  throw new Error('expected a refusal');
};

describe('resolveTenantTable', () => {
  describe('on the embedded warehouse', () => {
    it("resolves a table of the tenant's own dataset, with or without the dataset", () => {
      expect(resolveTenantTable(DUCKDB, 'acme_corp', 'acme_corp.my_export')).to.include({ project: null, dataset: 'acme_corp', table: 'my_export', tenantId: 'acme_corp' });
      expect(resolveTenantTable(DUCKDB, 'acme_corp', 'my_export').sqlReference).to.equal('acme_corp.my_export');
    });

    it('refuses any other dataset and any project part, with INVALID_TABLE_REFERENCE naming the field', () => {
      for (const raw of ['beta_inc.t', 'evilproj.acme_corp.t', 'tenants.tenant_api_keys', 'acme_corp_x.t', 'acme_cor.t']) {
        expect(refusal(() => resolveTenantTable(DUCKDB, 'acme_corp', raw, 'settings.billing_export_table')), raw)
          .to.include({ code: 'INVALID_TABLE_REFERENCE', field: 'settings.billing_export_table' });
      }
    });

    it('never repeats the refused value in its message', () => {
      expect(refusal(() => resolveTenantTable(DUCKDB, 'acme_corp', 'beta_inc.secret_table')).message).not.to.match(/beta_inc|secret_table/);
    });
  });

  describe('on BigQuery', () => {
    it("resolves the tenant's own dataset and a table in a project other than the platform's", () => {
      expect(resolveTenantTable(BIGQUERY, 'acme_corp', 'acme_corp.t').sqlReference).to.equal('acme_corp.t');
      expect(resolveTenantTable(BIGQUERY, 'acme_corp', 'acme-billing.export_ds.gcp_billing_export_v1')).to.include({ project: 'acme-billing', dataset: 'export_ds' });
    });

    it("refuses the platform's project, region qualifiers and reserved datasets", () => {
      for (const raw of ['platform-prod.acme_corp.t', 'platform-prod.beta_inc.t', 'region-us.INFORMATION_SCHEMA.JOBS', 'acme-billing.tenants.t', 'acme-billing._session.t', 'ab.export.t']) {
        expect(refusal(() => resolveTenantTable(BIGQUERY, 'acme_corp', raw)).code, raw).to.equal('INVALID_TABLE_REFERENCE');
      }
    });

    it('refuses every project when the platform project is unknown (fails closed)', () => {
      expect(refusal(() => resolveTenantTable({ kind: 'bigquery' }, 'acme_corp', 'acme-billing.export_ds.t')).code).to.equal('INVALID_TABLE_REFERENCE');
    });
  });

  it('resolves nothing for a tenant id that is a platform dataset or an engine name', () => {
    for (const tenantId of ['customers', 'tenants', 'main', '_session', 'Bad-Id']) {
      expect(refusal(() => resolveTenantTable(DUCKDB, tenantId, `${tenantId}.customer_pipeline_configs`)).code, tenantId).to.equal('INVALID_TABLE_REFERENCE');
    }
  });

  it('makes values only it can make: frozen, and recognised by ResolvedTable.isResolved', () => {
    const table = resolveTenantTable(DUCKDB, 'acme_corp', 't');
    expect(Object.isFrozen(table)).to.equal(true);
    expect(ResolvedTable.isResolved(table)).to.equal(true);
    expect(ResolvedTable.isResolved({ ...table, tenantId: 'acme_corp', sqlReference: 'beta_inc.t' })).to.equal(false);
    expect(ResolvedTable.isResolved(Object.create(ResolvedTable.prototype))).to.equal(false);
  });
});

describe('checkTenantProject', () => {
  it('accepts a GCP project id that is not the platform project', () => {
    expect(checkTenantProject(BIGQUERY, 'acme-billing')).to.equal('acme-billing');
    expect(checkTenantProject(DUCKDB, 'platform-prod')).to.equal('platform-prod');
  });

  it("refuses the platform's project on BigQuery and anything that is not a project id", () => {
    for (const raw of ['platform-prod', 'Acme', 'acme billing', 'acme;drop', 'region-us', '', 7]) {
      expect(refusal(() => checkTenantProject(BIGQUERY, raw, 'settings.project_id')), String(raw)).to.include({ code: 'INVALID_TABLE_REFERENCE', field: 'settings.project_id' });
    }
  });
});
