import type { BigQuery } from '@google-cloud/bigquery';
import { mapBigQueryError } from './bigquery-errors';
import { WarehouseError } from './types';
import type { TableRef } from './types';

/**
 * Offboarding export on BigQuery: one extract job (the official client's jobs.insert + polling) writing the
 * table as Parquet to a `gs://` URI. BigQuery itself writes the files; nothing passes through this process.
 * Extract jobs read the table's stored data, not rows still in its streaming buffer (BigQuery's limitation):
 * rows streamed in the last minutes before an offboarding may be missing from the export (README, Offboarding).
 */
const GCS_URI = /^gs:\/\/[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]\/[A-Za-z0-9._\/*-]+$/;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,1023}$/;

export function checkExtractTarget(ref: TableRef, uri: string): void {
  if (!IDENTIFIER.test(ref.dataset) || !IDENTIFIER.test(ref.table)) throw new WarehouseError(`Invalid table name ${ref.dataset}.${ref.table}`, 'invalid_query');
  if (!GCS_URI.test(uri) || uri.includes('..')) throw new WarehouseError('An export destination must be a gs://bucket/path URI', 'access_denied');
}

export async function extractToParquet(client: BigQuery, location: string, ref: TableRef, uri: string): Promise<void> {
  checkExtractTarget(ref, uri);
  try {
    const [job] = await client.createJob({
      location,
      configuration: {
        extract: {
          sourceTable: { projectId: client.projectId, datasetId: ref.dataset, tableId: ref.table },
          destinationUris: [uri],
          destinationFormat: 'PARQUET',
        },
        labels: { purpose: 'offboarding_export' },
      },
    });
    await job.promise();
  } catch (err) {
    throw err instanceof WarehouseError ? err : mapBigQueryError(err);
  }
}
