import { expect } from 'chai';
import { tenantProviders } from '../../src/warehouse/tables';
import { write } from '../../src/tenants/tenant-store';
import type { TestSystem } from '../helpers/system';

/**
 * Table references a tenant (acme_corp) might put in its provider settings to reach data that is not
 * its own, shared by the embedded and BigQuery isolation tests. Every one must be refused.
 */
export const FOREIGN_TABLE_ATTACKS: readonly unknown[] = [
  // The attack without the project part the DuckDB dialect drops (the full three-part form is in
  // EMBEDDED_ONLY_ATTACKS: on BigQuery `evilproj.beta_inc.t` is a table of project evilproj, not beta_inc's).
  'beta_inc.gcp_billing_export_v1',
  // Quoting: backticks, double quotes, single quotes, around the whole or each part.
  '`beta_inc.gcp_billing_export_v1`',
  '`beta_inc`.`gcp_billing_export_v1`',
  '"beta_inc"."gcp_billing_export_v1"',
  "'beta_inc'.gcp_billing_export_v1",
  'acme_corp.`gcp_billing_export_v1`',
  // Case: DuckDB folds unquoted names, BigQuery does not; nothing is folded here.
  'BETA_INC.gcp_billing_export_v1',
  'Beta_Inc.gcp_billing_export_v1',
  'ACME_CORP.gcp_billing_export_v1',
  // Unicode look-alikes and invisible characters.
  'bеta_inc.gcp_billing_export_v1', // Cyrillic е
  'acme_corp．gcp_billing_export_v1', // fullwidth full stop
  'acme_corp.gcp_bіlling_export_v1', // Cyrillic і
  'acme\u200bcorp.gcp_billing_export_v1',
  'acme_corp.gcp_billing_export_v1\u0000',
  // Empty parts, trailing dots, whitespace, comments, statement breaks.
  'acme_corp.gcp_billing_export_v1.',
  '.gcp_billing_export_v1',
  'acme_corp..gcp_billing_export_v1',
  ' acme_corp.gcp_billing_export_v1',
  'acme_corp.gcp_billing_export_v1 ',
  'acme_corp .gcp_billing_export_v1',
  'acme_corp.gcp_billing_export_v1\n',
  'acme_corp.gcp_billing_export_v1\t',
  'acme_corp.gcp_billing_export_v1 -- x',
  'acme_corp.gcp_billing_export_v1/* */',
  'acme_corp.gcp_billing_export_v1; DROP TABLE tenants.tenant_api_keys',
  'acme_corp.gcp_billing_export_v1` UNION ALL SELECT * FROM `beta_inc.gcp_billing_export_v1',
  // The platform's datasets and the engines' catalogs.
  'tenants.tenant_api_keys',
  'tenants.tenant_profiles',
  'customers.customer_pipeline_configs',
  'customers.scheduled_pipeline_runs',
  'information_schema.tables',
  'INFORMATION_SCHEMA.TABLES',
  'pg_catalog.pg_tables',
  'main.duckdb_tables',
  'system.main.duckdb_tables',
  'warehouse.tenants.tenant_api_keys',
  'evilproj.tenants.tenant_api_keys',
  'region-us.INFORMATION_SCHEMA.JOBS',
  // Wildcards, decorators, four parts, table functions, files.
  'acme_corp.gcp_billing_export_*',
  'acme_corp.gcp_billing_export_v1$20251114',
  'acme_corp.gcp_billing_export_v1@-3600000',
  'a.b.acme_corp.gcp_billing_export_v1',
  "read_csv('/etc/passwd')",
  '/etc/passwd',
  'x'.repeat(3000),
  '',
  // Not strings at all.
  42,
  true,
  null,
  ['beta_inc', 'gcp_billing_export_v1'],
  { dataset: 'beta_inc', table: 'gcp_billing_export_v1' },
];

/** Refused on the embedded warehouse, where a project part would be dropped and the rest read from the one file. */
export const EMBEDDED_ONLY_ATTACKS: readonly unknown[] = [
  'evilproj.beta_inc.gcp_billing_export_v1',
  'evilproj.acme_corp.gcp_billing_export_v1',
  'acme-billing.beta_inc.gcp_billing_export_v1',
];

/** PUTs each attack as acme_corp's billing_export_table; each must be 422 INVALID_TABLE_REFERENCE that names no other tenant. */
export async function expectEveryAttackRefused(t: TestSystem, key: string, attacks: readonly unknown[]): Promise<void> {
  for (const value of attacks) {
    const res = await t.request.put('/api/v1/tenants/acme_corp/providers/gcp').set('X-API-Key', key).send({ settings: { billing_export_table: value } });
    const label = JSON.stringify(value)?.slice(0, 80) ?? String(value);
    expect([res.status, res.body.code], label).to.deep.equal([422, 'INVALID_TABLE_REFERENCE']);
    expect(res.body.errors?.[0]?.field, label).to.equal('settings.billing_export_table');
    expect(JSON.stringify(res.body), label).not.to.match(/beta_inc|tenant_api_keys|customer_pipeline_configs/i);
  }
}

/** Stores a provider setting the way a server before the fix did: straight into the warehouse, no checks. */
export async function storeSettingAroundTheApi(t: TestSystem, tenantId: string, billingExportTable: string): Promise<void> {
  const now = new Date();
  await write(t.warehouse, tenantProviders, [{
    tenant_id: tenantId, provider: 'gcp', settings: JSON.stringify({ billing_export_table: billingExportTable }),
    encrypted_credentials: null, is_deleted: false, created_at: now, updated_at: now,
  }], now, 'stream');
}
