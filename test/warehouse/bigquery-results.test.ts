import { expect } from 'chai';
import { collectResults } from '../../src/warehouse/bigquery-results';
import type { FetchPage } from '../../src/warehouse/bigquery-results';
import type { QueryResultsPage } from '../../src/warehouse/bigquery-jobs-rest';

/**
 * A job's result of `total` rows of one STRING column of `width` characters, served as asked but never more than
 * `pageRows` rows a page (BigQuery too ends a page early, at about 10 MB). Records the maxResults of each request.
 */
function pagedResult(total: number, width: number, pageRows: number): { fetchPage: FetchPage; asked: Array<number | undefined> } {
  const asked: Array<number | undefined> = [];
  const cell = 'x'.repeat(width);
  const fetchPage: FetchPage = async ({ pageToken, maxResults }) => {
    asked.push(maxResults);
    const start = Number(pageToken ?? 0);
    const end = Math.min(total, start + Math.min(pageRows, maxResults ?? total));
    const page: QueryResultsPage = {
      jobComplete: true,
      schema: { fields: [{ name: 's', type: 'STRING' }] },
      rows: Array.from({ length: end - start }, () => ({ f: [{ v: cell }] })),
      ...(end < total ? { pageToken: String(end) } : {}),
    };
    return page;
  };
  return { fetchPage, asked };
}

const direct = <T>(fn: () => Promise<T>): Promise<T> => fn();

describe('BigQuery result pages of an operator query', () => {
  it('stop at the byte budget with truncated: true, the rows within it', async () => {
    const { fetchPage } = pagedResult(10_000, 60_000, 100);
    const result = await collectResults(fetchPage, direct, { maxRows: 10_000, maxBytes: 1024 ** 2 });
    expect(result.truncated).to.equal(true);
    expect(result.rows.length).to.be.within(15, 17);
    expect(JSON.stringify(result.rows).length).to.be.at.most(1024 ** 2);
  });

  it('ask a later page for no more rows than the bytes left hold at the mean row size so far, plus one', async () => {
    const { fetchPage, asked } = pagedResult(1_000, 1_000, 5);
    const result = await collectResults(fetchPage, direct, { maxRows: 1_000, maxBytes: 20_000 });
    expect(result.truncated).to.equal(true);
    expect(result.rows.length).to.be.within(18, 19);
    expect(asked[0]).to.equal(1_001);
    // 5 rows of ~1 KB held, ~15 KB left.
    expect(asked[1]).to.be.within(14, 16);
    expect(asked.length).to.be.at.most(5);
  });

  it('keep the row cap when the rows are small: the row past it only sets truncated', async () => {
    const capped = await collectResults(pagedResult(30, 10, 7).fetchPage, direct, { maxRows: 25, maxBytes: 1024 ** 2 });
    expect(capped.rows).to.have.length(25);
    expect(capped.truncated).to.equal(true);
    const exact = await collectResults(pagedResult(25, 10, 7).fetchPage, direct, { maxRows: 25, maxBytes: 1024 ** 2 });
    expect(exact.rows).to.have.length(25);
    expect(exact.truncated).to.equal(false);
  });
});
