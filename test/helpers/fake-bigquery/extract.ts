import path from 'node:path';
import type { DuckDbWarehouse } from '../../../src/warehouse/duckdb';
import { RestError } from './encoding';

/**
 * Extract jobs of the fake BigQuery server (offboarding exports). What is simulated: Cloud Storage is a local
 * directory (`gcsDir`, `gs://bucket/a/b` → `<gcsDir>/bucket/a/b`), and the Parquet file is written by the
 * backing DuckDB (its exports directory must be `gcsDir`) with a wildcard replaced by `000000000000`, one file
 * per table as BigQuery writes for small tables. The job is DONE when inserted. Every request is kept in `requests`.
 */
export interface ExtractConfig {
  sourceTable?: { projectId?: string; datasetId?: string; tableId?: string };
  destinationUris?: string[];
  destinationFormat?: string;
}

export interface RecordedExtract {
  jobId: string;
  config: ExtractConfig;
  file: string;
}

export class ExtractJobs {
  readonly requests: RecordedExtract[] = [];
  private readonly resources = new Map<string, Record<string, unknown>>();

  constructor(private readonly warehouse: DuckDbWarehouse, private readonly gcsDir: string | undefined) {}

  has(jobId: string): boolean {
    return this.resources.has(jobId);
  }

  resource(jobId: string): Record<string, unknown> {
    const found = this.resources.get(jobId);
    if (!found) throw new RestError(404, 'notFound', `Not found: Job ${jobId}`);
    return found;
  }

  async run(projectId: string, location: string, jobId: string, config: ExtractConfig): Promise<Record<string, unknown>> {
    const dataset = config.sourceTable?.datasetId ?? '';
    const table = config.sourceTable?.tableId ?? '';
    const uri = config.destinationUris?.[0] ?? '';
    if (config.destinationUris?.length !== 1 || !uri.startsWith('gs://')) throw new RestError(400, 'invalid', 'Extract needs exactly one gs:// destination URI');
    if (config.destinationFormat !== 'PARQUET') throw new RestError(400, 'invalid', `The fake server extracts PARQUET only, not ${config.destinationFormat ?? 'CSV'}`);
    if (!this.gcsDir) throw new RestError(400, 'invalid', 'The fake BigQuery server has no gcsDir (FakeBigQueryOptions.gcsDir)');
    const file = path.join(this.gcsDir, uri.slice('gs://'.length).replace(/\*/g, '000000000000'));
    const result = await this.warehouse.exportTable({ dataset, table }, file);
    if (result.kind === 'view') throw new RestError(400, 'invalid', `${dataset}.${table} is a view; extract jobs read tables only`);
    this.requests.push({ jobId, config, file });
    const resource = {
      kind: 'bigquery#job',
      id: `${projectId}:${location}.${jobId}`,
      jobReference: { projectId, jobId, location },
      configuration: { jobType: 'EXTRACT', extract: config },
      status: { state: 'DONE' },
      statistics: { extract: { destinationUriFileCounts: ['1'] } },
    };
    this.resources.set(jobId, resource);
    return resource;
  }
}
