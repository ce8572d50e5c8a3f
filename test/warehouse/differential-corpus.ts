import type { ColumnType, QueryParams, Row, TableSpec } from '../../src/warehouse/types';

/**
 * BigQuery queries with the rows BigQuery answers for them, written by hand from BigQuery's documented
 * semantics. The differential test checks each is valid BigQuery (ZetaSQL) and that the DuckDB
 * translation returns exactly these rows (in the adapter's row shapes: DATE as 'YYYY-MM-DD', TIMESTAMP
 * as an ISO instant, NUMERIC as a number, BYTES as a Buffer, JSON parsed).
 */
export interface DifferentialCase {
  name: string;
  sql: string;
  params?: QueryParams;
  paramTypes?: Record<string, ColumnType>;
  rows: Row[];
}

/** BigQuery SQL the translator refuses, each with the construct its error names. */
export interface RefusedCase {
  name: string;
  sql: string;
  names: RegExp;
}

export const DATASET = 'diff';

export const ITEMS: TableSpec = {
  columns: [
    { name: 'name', type: 'STRING' },
    { name: 'category', type: 'STRING' },
    { name: 'price', type: 'FLOAT64' },
    { name: 'qty', type: 'INT64' },
    { name: 'added', type: 'DATE' },
  ],
};

export const ITEM_ROWS: Row[] = [
  { name: 'apple', category: 'fruit', price: 1.25, qty: 4, added: '2025-03-01' },
  { name: 'banana', category: 'fruit', price: 0.5, qty: 12, added: '2025-03-02' },
  { name: 'carrot', category: 'veg', price: 0.75, qty: 1, added: '2025-03-01' },
  { name: "o'clock", category: 'veg', price: 2, qty: 3, added: '2025-03-03' },
];

const T = '`diff.items`';

export const CORPUS: DifferentialCase[] = [
  { name: 'a double-quoted string is a string, not a column', sql: `SELECT name FROM ${T} WHERE name = "apple"`, rows: [{ name: 'apple' }] },
  {
    name: 'every quoting of a string',
    sql: `SELECT 'it\\'s' AS a, "say \\"hi\\"" AS b, '''two\nlines''' AS c, """x"y""" AS d, '' AS e`,
    rows: [{ a: "it's", b: 'say "hi"', c: 'two\nlines', d: 'x"y', e: '' }],
  },
  {
    name: 'a string holding a quote matches the row that has it',
    sql: `SELECT category FROM ${T} WHERE name = 'o\\'clock' OR name = "o'clock"`,
    rows: [{ category: 'veg' }],
  },
  {
    name: 'escapes: control characters, octal, hex, unicode, backslash',
    sql: `SELECT '\\x41\\u00e9\\t|' AS s, '\\101\\102' AS o, '\\\\' AS bs, LENGTH('\\\\') AS n, CONCAT('a', "\\n", 'b') AS nl, LENGTH('é') AS one`,
    rows: [{ s: 'Aé\t|', o: 'AB', bs: '\\', n: 1, nl: 'a\nb', one: 1 }],
  },
  {
    name: 'raw strings keep their backslashes',
    sql: `SELECT r'\\d+' AS raw, R"a\\b" AS raw2, LENGTH(r'\\n') AS n, r'''x\\'y''' AS tri`,
    rows: [{ raw: '\\d+', raw2: 'a\\b', n: 2, tri: "x\\'y" }],
  },
  {
    name: 'bytes, raw bytes and their escapes',
    sql: `SELECT b'\\x61\\x62' = b'ab' AS same, rb'\\x' AS raw, B"\\000\\xff" AS bin, CAST('hi' AS BYTES) = b'hi' AS cast_ok`,
    rows: [{ same: true, raw: Buffer.from('\\x'), bin: Buffer.from([0, 255]), cast_ok: true }],
  },
  {
    name: 'numbers keep BigQuery types: 1.5 is FLOAT64, 0x1F is INT64, / is FLOAT64',
    sql: 'SELECT 1.5 * 3 AS f, 0x1F + 1 AS h, .5 + 5. AS g, 1e3 AS e, 10 / 4 AS d, 7 AS i',
    rows: [{ f: 4.5, h: 32, g: 5.5, e: 1000, d: 2.5, i: 7 }],
  },
  {
    name: 'typed literals',
    sql: `SELECT DATE '2025-01-31' AS d, TIMESTAMP '2025-01-01 10:00:00+02' AS ts, TIMESTAMP '2025-06-01 12:00:00 America/New_York' AS ny,
      NUMERIC '1.25' * 2 AS n, JSON '{"a": [1, "x"]}' AS j, DATETIME '2025-01-01 10:00:00' < DATETIME '2025-01-02 00:00:00' AS earlier`,
    rows: [{ d: '2025-01-31', ts: '2025-01-01T08:00:00.000Z', ny: '2025-06-01T16:00:00.000Z', n: 2.5, j: { a: [1, 'x'] }, earlier: true }],
  },
  {
    name: 'date arithmetic',
    sql: `SELECT DATE_ADD(DATE '2025-01-31', INTERVAL 1 MONTH) AS next_month, DATE_SUB(DATE '2025-03-01', INTERVAL 1 DAY) AS prev_day,
      DATE_DIFF(DATE '2025-03-01', DATE '2025-01-01', DAY) AS days, DATE_TRUNC(DATE '2025-03-15', MONTH) AS month_start,
      EXTRACT(YEAR FROM DATE '2025-03-15') AS y, DATE '2025-03-01' + 1 AS plus_one`,
    rows: [{ next_month: '2025-02-28', prev_day: '2025-02-28', days: 59, month_start: '2025-03-01', y: 2025, plus_one: '2025-03-02' }],
  },
  {
    name: 'timestamp functions and formats',
    sql: `SELECT TIMESTAMP_DIFF(TIMESTAMP '2025-01-02 00:00:00', TIMESTAMP '2025-01-01 12:00:00', HOUR) AS h,
      TIMESTAMP_TRUNC(TIMESTAMP '2025-01-01 12:34:56', HOUR) AS t, TIMESTAMP_ADD(TIMESTAMP '2025-01-01 00:00:00', INTERVAL 90 MINUTE) AS later,
      FORMAT_DATE('%Y%m', DATE '2025-03-15') AS ym, PARSE_DATE('%Y-%m-%d', '2025-03-15') AS p`,
    rows: [{ h: 12, t: '2025-01-01T12:00:00.000Z', later: '2025-01-01T01:30:00.000Z', ym: '202503', p: '2025-03-15' }],
  },
  {
    name: 'functions the macros cover',
    sql: `SELECT SAFE_DIVIDE(1, 0) AS z, SAFE_DIVIDE(6, 3) AS q, IFNULL(NULL, 'x') AS i, IF(1 < 2, "yes", "no") AS c,
      SAFE_CAST('x' AS INT64) AS bad, CAST('42' AS INT64) AS good, CAST(2 AS FLOAT64) / 4 AS quarter, TO_JSON_STRING([1, 2]) AS js`,
    rows: [{ z: null, q: 2, i: 'x', c: 'yes', bad: null, good: 42, quarter: 0.5, js: '[1,2]' }],
  },
  {
    name: 'aggregates with BigQuery names',
    sql: `SELECT COUNTIF(qty > 3) AS many, LOGICAL_AND(qty > 0) AS all_positive, LOGICAL_OR(name = "kiwi") AS any_kiwi,
      STRING_AGG(name, ',' ORDER BY name) AS names, ANY_VALUE(category = 'fruit' OR category = 'veg') AS known FROM ${T}`,
    rows: [{ many: 2, all_positive: true, any_kiwi: false, names: "apple,banana,carrot,o'clock", known: true }],
  },
  {
    name: 'QUALIFY keeps the top row per group',
    sql: `SELECT category, name FROM ${T} WHERE TRUE QUALIFY ROW_NUMBER() OVER (PARTITION BY category ORDER BY price DESC) = 1 ORDER BY category`,
    rows: [{ category: 'fruit', name: 'apple' }, { category: 'veg', name: "o'clock" }],
  },
  {
    name: 'CTEs, IN lists mixing quotes, LIKE',
    sql: `WITH totals AS (SELECT category, SUM(price * qty) AS total FROM ${T} WHERE category IN ("fruit", 'veg') GROUP BY category)
      SELECT category, ROUND(total, 2) AS total FROM totals WHERE category LIKE 'f%' OR category LIKE "v%" ORDER BY total DESC`,
    rows: [{ category: 'fruit', total: 11 }, { category: 'veg', total: 6.75 }],
  },
  {
    name: 'LIKE patterns: a backslash escapes %, _ and itself, in literals and parameters',
    sql: "SELECT 'a_b' LIKE 'a\\\\_b' AS escaped, 'axb' LIKE 'a\\\\_b' AS not_wild, 'x%' NOT LIKE r'%\\%' AS pct, 'a\\\\b' LIKE @p AS param",
    params: { p: 'a\\\\b' },
    paramTypes: { p: 'STRING' },
    rows: [{ escaped: true, not_wild: false, pct: false, param: true }],
  },
  {
    name: 'named parameters, typed',
    sql: `SELECT name FROM ${T} WHERE added = @day AND name != @skip ORDER BY name`,
    params: { day: '2025-03-01', skip: 'carrot' },
    paramTypes: { day: 'DATE', skip: 'STRING' },
    rows: [{ name: 'apple' }],
  },
  {
    name: 'comments holding quotes, @ and # do not count',
    sql: `SELECT 1 AS one # it's a '#' comment\n-- "another" @nope\n/* ' @nope2 /* */`,
    rows: [{ one: 1 }],
  },
  {
    name: 'UNNEST names the element, with AS or without',
    sql: "SELECT (SELECT SUM(x * 2) FROM UNNEST([1, 2, 3]) AS x) AS total, (SELECT COUNT(*) FROM UNNEST(['b', 'a']) k WHERE k = 'a') AS a_count",
    rows: [{ total: 12, a_count: 1 }],
  },
  {
    name: 'quoted identifiers, whole-path and per-part',
    sql: 'SELECT `name` AS `the name` FROM `diff`.`items` WHERE `qty` = 3',
    rows: [{ 'the name': "o'clock" }],
  },
];

export const REFUSED: RefusedCase[] = [
  { name: 'a system variable', sql: 'SELECT @@project_id AS p', names: /system variable @@project_id/ },
  { name: 'UNNEST with an offset', sql: 'SELECT x, o FROM UNNEST([10, 20]) AS x WITH OFFSET AS o', names: /UNNEST … WITH OFFSET/ },
  { name: 'LIKE with a column as pattern', sql: 'SELECT name LIKE category AS m FROM `diff.items`', names: /LIKE with a pattern that is not a string literal or @parameter/ },
  { name: 'a multi-part interval', sql: "SELECT INTERVAL '1-2' YEAR TO MONTH AS i", names: /INTERVAL '…' … TO … literal/ },
  { name: 'a STRUCT constructor', sql: 'SELECT STRUCT(1 AS a) AS s', names: /STRUCT\(…\) constructor/ },
  { name: 'a RANGE literal', sql: "SELECT RANGE<DATE> '[2024-01-01, 2024-02-01)' AS r", names: /typed RANGE<…> literal/ },
  { name: 'a typed ARRAY literal', sql: 'SELECT ARRAY<INT64>[1, 2] AS a', names: /typed ARRAY<…> literal/ },
  { name: 'a BIGNUMERIC beyond NUMERIC(38, 9)', sql: "SELECT BIGNUMERIC '0.12345678901234' AS b", names: /BIGNUMERIC literal '0\.12345678901234' does not fit/ },
];

/** Malformed literals both ZetaSQL and the lexer must refuse (they agree on what BigQuery accepts). */
export const MALFORMED: string[] = [
  "SELECT 'it''s'",
  "SELECT 'a' 'b'",
  "SELECT 'a\nb'",
  "SELECT '\\q'",
  "SELECT '\\400'",
  "SELECT b'\\u00e9'",
  "SELECT r'a\\'",
  "SELECT '''abc''",
  'SELECT 1 /* open',
];
