import type { SchemaField } from '../../src/warehouse/bigquery-values';

/**
 * The standard usage cost export table Cloud Billing writes to BigQuery
 * (`gcp_billing_export_v1_<BILLING_ACCOUNT_ID>`), as Google documents it ("Structure of Standard data
 * export"). Written out here because it is Google's table, not one of ours: nothing in this repository
 * creates it. configs/gcp/billing_export_flat_view.sql reads it; the check analyzes that view against it.
 */
const f = (name: string, type: string, fields?: SchemaField[]): SchemaField => ({ name, type, ...(fields ? { fields } : {}) });
const repeated = (name: string, fields: SchemaField[]): SchemaField => ({ name, type: 'RECORD', mode: 'REPEATED', fields });
const keyValue = (): SchemaField[] => [f('key', 'STRING'), f('value', 'STRING')];

export const STANDARD_BILLING_EXPORT: SchemaField[] = [
  f('billing_account_id', 'STRING'),
  f('service', 'RECORD', [f('id', 'STRING'), f('description', 'STRING')]),
  f('sku', 'RECORD', [f('id', 'STRING'), f('description', 'STRING')]),
  f('usage_start_time', 'TIMESTAMP'),
  f('usage_end_time', 'TIMESTAMP'),
  f('project', 'RECORD', [
    f('id', 'STRING'),
    f('number', 'STRING'),
    f('name', 'STRING'),
    repeated('labels', keyValue()),
    f('ancestry_numbers', 'STRING'),
    repeated('ancestors', [f('resource_name', 'STRING'), f('display_name', 'STRING')]),
  ]),
  repeated('labels', keyValue()),
  repeated('system_labels', keyValue()),
  f('location', 'RECORD', [f('location', 'STRING'), f('country', 'STRING'), f('region', 'STRING'), f('zone', 'STRING')]),
  repeated('tags', [f('key', 'STRING'), f('value', 'STRING'), f('inherited', 'BOOLEAN'), f('namespace', 'STRING')]),
  f('transaction_type', 'STRING'),
  f('seller_name', 'STRING'),
  f('export_time', 'TIMESTAMP'),
  f('cost', 'FLOAT'),
  f('currency', 'STRING'),
  f('currency_conversion_rate', 'FLOAT'),
  f('usage', 'RECORD', [f('amount', 'FLOAT'), f('unit', 'STRING'), f('amount_in_pricing_units', 'FLOAT'), f('pricing_unit', 'STRING')]),
  repeated('credits', [f('name', 'STRING'), f('amount', 'FLOAT'), f('full_name', 'STRING'), f('id', 'STRING'), f('type', 'STRING')]),
  f('invoice', 'RECORD', [f('month', 'STRING'), f('publisher_type', 'STRING')]),
  f('cost_type', 'STRING'),
  f('adjustment_info', 'RECORD', [f('id', 'STRING'), f('description', 'STRING'), f('mode', 'STRING'), f('type', 'STRING')]),
  f('cost_at_list', 'FLOAT'),
];

/** Where the check places the standard export: a billing project of the tenant's own, as in the view's instructions. */
export const STANDARD_EXPORT_REF = { project: 'acme-billing', dataset: 'billing_export', table: 'gcp_billing_export_v1_01A2B3_C4D5E6_F7A8B9' };
