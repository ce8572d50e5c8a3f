import { buildRenderContext, renderTableName } from '../../src/pipelines/render';
import { BILLING_EXPORT_TABLE, billingExportSpec } from '../../src/pipelines/sample-billing';
import { destinationSpec } from '../../src/pipelines/steps/query';
import type { Template } from '../../src/pipelines/types';
import {
  CENTRAL_DATASET,
  CENTRAL_STATE_TABLES,
  CUSTOMERS_DATASET,
  CUSTOMER_STATE_TABLES,
  TENANT_STATE_TABLES,
  AUDIT_LOG_TABLE,
  auditLogSpec,
  eventsTableName,
  eventsTableSpec,
} from '../../src/warehouse/tables';
import type { StateTable } from '../../src/warehouse/tables';
import { STANDARD_BILLING_EXPORT, STANDARD_EXPORT_REF } from './billing-export-schema';
import { BigQueryCatalog, columnsAsFields } from './catalog';

/**
 * The BigQuery catalog the adapter creates, derived from the code's own definitions (never a copied list):
 *  - `tenants.*` and `customers.*`: every state table of tables.ts as its `_events` table plus the latest-row
 *    view of the same name (the view's columns are the state table's columns);
 *  - a tenant's dataset: its `x_meta_*` state tables, the destination table of every query step of every
 *    template (with the `_pipeline_logging_id` column the engine adds), and the billing export in the flat
 *    layout the cost templates read (sample-billing.ts, or the flat view over Google's export);
 *  - Google's standard billing export table in a billing project, which the flat view reads.
 */
export function codeCatalog(tenantId: string, templates: Template[]): BigQueryCatalog {
  const catalog = new BigQueryCatalog();
  const addState = (dataset: string, t: StateTable): void => {
    catalog.add({ dataset, table: eventsTableName(t), fields: columnsAsFields(eventsTableSpec(t).columns) });
    catalog.add({ dataset, table: t.name, fields: columnsAsFields(t.columns) });
  };
  CENTRAL_STATE_TABLES.forEach((t) => addState(CENTRAL_DATASET, t));
  CUSTOMER_STATE_TABLES.forEach((t) => addState(CUSTOMERS_DATASET, t));
  TENANT_STATE_TABLES.forEach((t) => addState(tenantId, t));
  catalog.add({ dataset: CENTRAL_DATASET, table: AUDIT_LOG_TABLE, fields: columnsAsFields(auditLogSpec.columns) });
  catalog.add({ dataset: tenantId, table: BILLING_EXPORT_TABLE, fields: columnsAsFields(billingExportSpec.columns) });
  catalog.add({ ...STANDARD_EXPORT_REF, fields: STANDARD_BILLING_EXPORT });
  for (const template of templates) {
    const ctx = buildRenderContext(template, {
      tenantId,
      provider: template.provider,
      domain: template.domain,
      templateName: template.name,
      pipelineLoggingId: '00000000-0000-4000-8000-000000000000',
    });
    for (const step of template.steps) {
      if (step.type !== 'query' || !step.destination) continue;
      const table = renderTableName(step.destination.table, ctx);
      catalog.add({ dataset: tenantId, table, fields: columnsAsFields(destinationSpec(step.destination).columns) });
    }
  }
  return catalog;
}
