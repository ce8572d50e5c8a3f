import { AppError } from './errors';

/** BigQuery bills at least 10 MiB per on-demand query (per table referenced), so no job needs less. */
export const MIN_BILLED_BYTES = 10 * 1024 * 1024;

const GIB = 1024 ** 3;
const TIB = 1024 ** 4;

/** Bytes as a tenant reads them in an error: the exact count plus GiB. */
export const formatBytes = (bytes: number): string => `${bytes} bytes (${(bytes / GIB).toFixed(2)} GiB)`;

/** Cost of billed bytes at an on-demand price per TiB (BIGQUERY_PRICE_PER_TIB_USD), rounded to 1e-6 USD. */
export const costUsd = (billedBytes: number, pricePerTibUsd: number): number => Math.round((billedBytes / TIB) * pricePerTibUsd * 1e6) / 1e6;

/** A query refused for its bytes (README "Cost guardrails"). Permanent: a retry would be refused the same way. */
export function bytesLimitExceeded(detail: string, extra: Record<string, unknown>): AppError {
  // The code leads the text: a step's error_message (and the run's) is all a tenant sees of it.
  return new AppError(422, 'BYTES_LIMIT_EXCEEDED', `BYTES_LIMIT_EXCEEDED: ${detail}`, { extra });
}
