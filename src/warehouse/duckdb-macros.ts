/**
 * DuckDB macros that let one SQL text (BigQuery standard SQL) run on both warehouses.
 * sql-dialect.ts renames the BigQuery function to the `bq_*` macro where DuckDB has a namesake with a
 * different meaning or argument order, and turns a bare date part (`DAY`) into a string (`'day'`).
 *
 * Covered:
 *  - native in DuckDB: CURRENT_DATE(), DATE(ts), EXTRACT(part FROM x), INTERVAL n DAY, IFNULL, IF, COALESCE,
 *    QUALIFY, ROW_NUMBER() OVER, STRING_AGG, ARRAY_AGG, ANY_VALUE, CAST(x AS INT64|STRING|BOOL)
 *  - macros here: CURRENT_TIMESTAMP(), SAFE_DIVIDE(a, b), DATE_ADD/DATE_SUB(date, INTERVAL …) (DATE result),
 *    TIMESTAMP_ADD/TIMESTAMP_SUB(ts, INTERVAL …), DATE_DIFF/TIMESTAMP_DIFF(a, b, PART) (= a − b),
 *    DATE_TRUNC(date, PART) (DATE result), TIMESTAMP_TRUNC(ts, PART), FORMAT_DATE/FORMAT_TIMESTAMP(fmt, x),
 *    PARSE_DATE/PARSE_TIMESTAMP(fmt, s), TO_JSON_STRING(x)
 *  - renamed by the dialect: SAFE_CAST → TRY_CAST, COUNTIF → count_if, LOGICAL_AND/OR → bool_and/bool_or,
 *    and FLOAT64/NUMERIC/BYTES/TIMESTAMP type names inside CAST.
 * Not covered (write them differently or guard by warehouse kind): UNNEST of arrays of structs with
 * BigQuery semantics, GENERATE_DATE_ARRAY, DATETIME functions, JSON_QUERY paths beyond `$.a.b`.
 *
 * The macros are persistent (schema `main`), created with CREATE OR REPLACE at every open, so they
 * are visible from every connection and from views stored in the file.
 */
export const DUCKDB_MACROS: readonly string[] = [
  `CREATE OR REPLACE MACRO current_timestamp() AS now()`,
  `CREATE OR REPLACE MACRO safe_divide(a, b) AS CASE WHEN b IS NULL OR b = 0 THEN NULL ELSE a / b END`,
  `CREATE OR REPLACE MACRO bq_date_add(d, i) AS CAST(d + i AS DATE)`,
  `CREATE OR REPLACE MACRO bq_date_sub(d, i) AS CAST(d - i AS DATE)`,
  `CREATE OR REPLACE MACRO bq_timestamp_add(t, i) AS t + i`,
  `CREATE OR REPLACE MACRO bq_timestamp_sub(t, i) AS t - i`,
  `CREATE OR REPLACE MACRO bq_date_diff(a, b, p) AS date_diff(p, CAST(b AS DATE), CAST(a AS DATE))`,
  `CREATE OR REPLACE MACRO bq_timestamp_diff(a, b, p) AS date_diff(p, b, a)`,
  `CREATE OR REPLACE MACRO bq_date_trunc(d, p) AS CAST(date_trunc(p, d) AS DATE)`,
  `CREATE OR REPLACE MACRO bq_timestamp_trunc(t, p) AS date_trunc(p, t)`,
  `CREATE OR REPLACE MACRO bq_format_date(f, d) AS strftime(CAST(d AS DATE), f)`,
  `CREATE OR REPLACE MACRO bq_format_timestamp(f, t) AS strftime(t, f)`,
  `CREATE OR REPLACE MACRO bq_parse_date(f, s) AS CAST(strptime(s, f) AS DATE)`,
  `CREATE OR REPLACE MACRO bq_parse_timestamp(f, s) AS CAST(strptime(s, f) AS TIMESTAMPTZ)`,
  `CREATE OR REPLACE MACRO bq_to_json_string(x) AS CAST(to_json(x) AS VARCHAR)`,
];
