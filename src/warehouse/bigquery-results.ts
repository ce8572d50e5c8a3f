import type { QueryResultsPage } from './bigquery-jobs-rest';
import { fromRow } from './bigquery-values';
import type { SchemaField } from './bigquery-values';
import type { QueryResult, Row } from './types';

/** One getQueryResults call (BigQueryJobsRest.getQueryResults for a job). */
export type FetchPage = (page: { pageToken?: string; maxResults?: number }) => Promise<QueryResultsPage>;

/** Rows per getQueryResults page when a cap applies (BigQuery's own page limit is ~10 MB either way). */
const CAPPED_PAGE_ROWS = 10_000;

/**
 * Polls getQueryResults until the job is done, then pages through the rows. With `maxRows` it stops asking for
 * pages once it holds that many rows, so a capped read never downloads the rest of a large result.
 */
export async function collectResults(fetchPage: FetchPage, call: <T>(fn: () => Promise<T>) => Promise<T>, maxRows?: number): Promise<QueryResult> {
  const rows: Row[] = [];
  let fields: SchemaField[] = [];
  let pageToken: string | undefined;
  let first: QueryResultsPage | undefined;
  for (;;) {
    const remaining = maxRows === undefined ? undefined : Math.min(maxRows - rows.length, CAPPED_PAGE_ROWS);
    const meta = await call(() => fetchPage({ ...(pageToken ? { pageToken } : {}), ...(remaining !== undefined ? { maxResults: remaining } : {}) }));
    if (meta.jobComplete === false) continue;
    if (!first) {
      first = meta;
      fields = meta.schema?.fields ?? [];
    }
    for (const raw of meta.rows ?? []) rows.push(fromRow(fields, raw.f));
    pageToken = meta.pageToken;
    if (!pageToken || (maxRows !== undefined && rows.length >= maxRows)) break;
  }
  const result: QueryResult = { rows: maxRows === undefined ? rows : rows.slice(0, maxRows) };
  if (first?.numDmlAffectedRows !== undefined) {
    result.rows = [];
    result.affectedRows = Number(first.numDmlAffectedRows);
  }
  if (first?.totalBytesProcessed !== undefined) result.bytesProcessed = Number(first.totalBytesProcessed);
  return result;
}
