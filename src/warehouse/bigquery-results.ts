import type { QueryResultsPage } from './bigquery-jobs-rest';
import { fromRow } from './bigquery-values';
import type { SchemaField } from './bigquery-values';
import { ResultBudget } from './result-budget';
import { WarehouseError } from './types';
import type { QueryResult, Row } from './types';

/** One getQueryResults call (BigQueryJobsRest.getQueryResults for a job). */
export type FetchPage = (page: { pageToken?: string; maxResults?: number }) => Promise<QueryResultsPage>;

/** Rows per getQueryResults page when a cap applies (BigQuery's own page limit is ~10 MB either way). */
const CAPPED_PAGE_ROWS = 10_000;

/** An operator query's caps: rows, and bytes of converted rows (result-budget.ts). */
export interface ResultCap {
  maxRows: number;
  maxBytes: number;
}

export type CollectedResult = QueryResult & { truncated: boolean };

/**
 * Polls getQueryResults until the job is done, then pages through the rows. With a cap it stops asking for pages
 * once it holds `maxRows` rows and one more (which only sets `truncated`), or at the first row that would pass
 * `maxBytes`; once rows have been seen, a page asks for no more rows than the bytes left would hold at their mean
 * size, so a capped read never downloads much of a large result. A job that stays RUNNING is polled until `signal`
 * aborts (each poll is BigQuery's long poll), never past it.
 */
export async function collectResults(
  fetchPage: FetchPage,
  call: <T>(fn: () => Promise<T>) => Promise<T>,
  cap?: ResultCap,
  signal?: AbortSignal,
): Promise<CollectedResult> {
  const rows: Row[] = [];
  const budget = cap ? new ResultBudget(cap.maxBytes) : null;
  const rowLimit = cap ? cap.maxRows + 1 : Infinity;
  let truncated = false;
  let fields: SchemaField[] = [];
  let pageToken: string | undefined;
  let first: QueryResultsPage | undefined;
  for (;;) {
    if (signal?.aborted) throw new WarehouseError('Query cancelled', 'cancelled');
    const meta = await call(() => fetchPage({ ...(pageToken ? { pageToken } : {}), ...(cap ? { maxResults: pageRows(rows.length, rowLimit, budget) } : {}) }));
    if (meta.jobComplete === false) continue;
    if (!first) {
      first = meta;
      fields = meta.schema?.fields ?? [];
    }
    for (const raw of meta.rows ?? []) {
      if (rows.length >= rowLimit) break;
      const row = fromRow(fields, raw.f);
      if (budget && !budget.fits(row)) {
        truncated = true;
        break;
      }
      rows.push(row);
    }
    pageToken = meta.pageToken;
    if (truncated || !pageToken || rows.length >= rowLimit) break;
  }
  if (cap && rows.length > cap.maxRows) {
    truncated = true;
    rows.length = cap.maxRows;
  }
  const result: CollectedResult = { rows, truncated };
  if (first?.numDmlAffectedRows !== undefined) {
    result.rows = [];
    result.affectedRows = Number(first.numDmlAffectedRows);
  }
  if (first?.totalBytesProcessed !== undefined) result.bytesProcessed = Number(first.totalBytesProcessed);
  return result;
}

function pageRows(held: number, rowLimit: number, budget: ResultBudget | null): number {
  const byRows = Math.min(rowLimit - held, CAPPED_PAGE_ROWS);
  const mean = budget?.meanRowBytes(held) ?? null;
  if (budget === null || mean === null) return byRows;
  // One row past what fits, so the page that ends the budget also shows there was more.
  return Math.max(1, Math.min(byRows, Math.floor(budget.remaining / mean) + 1));
}
