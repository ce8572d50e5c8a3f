-- Flattens the standard GCP billing export (BigQuery) into the column layout gcp/cost/billing_cost.yml and
-- gcp/cost/mtd_cost_by_project.yml read. Replace the three placeholders, run it once in BigQuery, then set
-- the tenant's provider setting: PUT /api/v1/tenants/{tenant_id}/providers/gcp
--   {"settings": {"billing_export_table": "<tenant_id>.gcp_billing_export_v1"}}
-- Written against the documented export schema; not run against a live export from this repository's tests.
CREATE OR REPLACE VIEW `<tenant_id>.gcp_billing_export_v1` AS
SELECT
  billing_account_id,
  service.id AS service_id,
  service.description AS service_description,
  sku.id AS sku_id,
  sku.description AS sku_description,
  project.id AS project_id,
  project.name AS project_name,
  usage_start_time,
  usage_end_time,
  location.region AS location_region,
  cost,
  currency,
  currency_conversion_rate,
  usage.amount AS usage_amount,
  usage.unit AS usage_unit,
  TO_JSON(ARRAY(SELECT AS STRUCT c.name, c.amount, c.type FROM UNNEST(credits) AS c)) AS credits,
  TO_JSON(labels) AS labels,
  cost_type,
  invoice.month AS invoice_month,
  export_time
FROM `<billing_project>.<billing_dataset>.gcp_billing_export_v1_<BILLING_ACCOUNT_ID>`;
