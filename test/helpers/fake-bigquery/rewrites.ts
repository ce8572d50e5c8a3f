/**
 * BigQuery text of the shipped cost templates that the DuckDB translation cannot run, with its DuckDB
 * twin (the templates' `sql_overrides.duckdb` differ from their BigQuery text in exactly this expression;
 * templates.test.ts checks that). Given to the fake BigQuery server as `duckDbRewrites`, so the BigQuery
 * text is what gets analyzed and the twin is what DuckDB runs.
 */
export const BILLING_CREDITS_REWRITE: readonly [string, string] = [
  "(SELECT IFNULL(SUM(CAST(JSON_VALUE(c, '$.amount') AS FLOAT64)), 0) FROM UNNEST(JSON_QUERY_ARRAY(credits)) AS c)",
  "COALESCE(list_sum(CAST(json_extract(credits, '$[*].amount') AS DOUBLE[])), 0)",
];
