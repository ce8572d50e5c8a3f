import { BigQueryWarehouse } from '../../src/warehouse/bigquery';
import { runWarehouseContract } from '../warehouse/contract';

/**
 * Opt-in: runs the warehouse contract against real BigQuery with Application Default Credentials.
 * LIVE_GCP=1 GCP_PROJECT_ID=my-project [BIGQUERY_LOCATION=US] npm run test:live
 * Every test creates and drops its own `c_<random>` dataset.
 */
const project = process.env.GCP_PROJECT_ID;
const enabled = process.env.LIVE_GCP === '1' && project !== undefined && project !== '';

if (enabled) {
  runWarehouseContract(
    'bigquery (live)',
    async () => {
      const warehouse = await BigQueryWarehouse.create({ projectId: project, location: process.env.BIGQUERY_LOCATION ?? 'US' });
      return { warehouse, cleanup: () => warehouse.close() };
    },
    {
      slowQuery: 'SELECT COUNT(*) AS n FROM UNNEST(GENERATE_ARRAY(1, 100000)) AS a CROSS JOIN UNNEST(GENERATE_ARRAY(1, 100000)) AS b',
      bulkRows: 2000,
    },
  );
} else {
  describe('warehouse contract: bigquery (live)', () => {
    it('is skipped unless LIVE_GCP=1 and GCP_PROJECT_ID are set');
  });
}
