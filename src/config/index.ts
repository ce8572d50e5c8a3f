import path from 'node:path';
import Joi from 'joi';

export type Role = 'all' | 'api' | 'worker' | 'scheduler';
export const ROLES: readonly Role[] = ['all', 'api', 'worker', 'scheduler'];

/** One Redis Cluster seed node of REDIS_CLUSTER_NODES. */
export interface HostPort {
  host: string;
  port: number;
}

export interface Config {
  nodeEnv: 'development' | 'production' | 'test';
  isProduction: boolean;
  role: Role;
  host: string;
  port: number;
  /** Where a worker or scheduler process answers its health probes; unset: no listener (the api role uses PORT). */
  healthPort: number | undefined;
  /** Take the client IP from X-Forwarded-For (only behind a proxy that sets it). */
  trustProxy: boolean;
  /**
   * With trustProxy: how many X-Forwarded-For entries, counted from the right, the trusted proxies appended; the
   * client is the leftmost of those. Entries left of them are the client's own text and never read.
   */
  proxyHops: number;
  dataDir: string;
  configsDir: string;
  logLevel: string;
  /** Log lines are written in batches of this many bytes (0: each line at once), at least every logFlushIntervalMs. */
  logBufferBytes: number;
  logFlushIntervalMs: number;
  /** `clusterNodes` non-empty selects Redis Cluster (REDIS_CLUSTER_NODES); REDIS_URL is then not used. */
  /** `failoverWaitMs`: how long a worker's or scheduler's command waits for a failed-over cluster master (0 = ioredis' default). */
  redis: { url: string; clusterNodes: HostPort[]; autostart: boolean; keyPrefix: string; commandTimeoutMs: number; failoverWaitMs: number };
  warehouse: {
    kind: 'duckdb' | 'bigquery';
    duckdbPath: string;
    gcpProjectId: string | undefined;
    bigqueryLocation: string;
    bigqueryApiEndpoint: string | undefined;
    /** Offboarding exports (embedded): the one directory the DuckDB lockdown lets the instance write to. */
    exportDir: string;
    /** Offboarding exports (BigQuery): default `gs://bucket[/path]` of the extract jobs; a request may name its own. */
    exportUri: string | undefined;
    /** On-demand price per TiB billed, for `estimated_cost_usd` (BIGQUERY_PRICE_PER_TIB_USD). */
    pricePerTibUsd: number;
    /** `maximumBytesBilled` of the platform's own query jobs (BIGQUERY_PLATFORM_MAX_BYTES_BILLED). */
    platformMaxBytesBilled: number;
    /** DuckDB `memory_limit` / `max_temp_directory_size` (e.g. `4GiB`); unset: the adapter's defaults (duckdb-resources.ts). */
    duckdbMemoryLimit: string | undefined;
    duckdbMaxTempDirectorySize: string | undefined;
  };
  keyManager: { kind: 'local' | 'gcp'; keyringPath: string; kmsKeyName: string | undefined; kmsApiEndpoint: string | undefined; kmsTimeoutMs?: number };
  /** `cacheTtlMs`: how long an API process serves a key from memory at most (changes reach it sooner, by pub/sub). */
  auth: { adminApiKey: string | undefined; adminKeyPath: string; disableAuth: boolean; cacheTtlMs: number };
  worker: { concurrency: number; lockDurationMs: number; completedRetentionSeconds: number; retainedJobCount: number };
  /** FAIR_DISPATCH: round-robin across tenants' backlogs (README "Fair dispatch"); false = one FIFO queue. */
  fairDispatch: boolean;
  scheduler: { mode: 'internal' | 'external'; orphanMarginMinutes: number };
  rateLimits: { runPerMinute: number; tenantPerMinute: number; ipPerMinute: number; adminPerMinute: number; authFailuresPerMinute: number };
  metricsAuth: 'none' | 'admin';
  shutdownTimeoutMs: number;
  /** Operator queries (admin SQL endpoint, `npm run sql`). */
  adminQuery: { maxBytesBilled: number; timeoutMs: number; maxResultBytes: number };
  /** Each warehouse call made while serving an API request takes at most this long (then 503). */
  apiWarehouseTimeoutMs: number;
  /**
   * Each warehouse call made outside a request (scheduler, maintenance, log writer, workers' bookkeeping) takes at most
   * this long; pipeline steps keep their own timeouts (src/warehouse/deadlines.ts).
   */
  platformWarehouseTimeoutMs: number;
  /** Webhook deliveries (README "Webhooks"). `allowPrivate` lets tests deliver to loopback over http; refused in production. */
  webhooks: {
    timeoutMs: number; allowPrivate: boolean; disableAfter: number; maxAttempts: number; retryBaseMs: number; retryMaxMs: number;
    /** Attempts one worker process sends at once; of them, at most `endpointConcurrency` per endpoint and `tenantConcurrency` per tenant (every process together). */
    concurrency: number; endpointConcurrency: number; tenantConcurrency: number;
  };
}

/** Every variable the process reads, with its default. `.env.example` mirrors this table. */

/**
 * Runs one worker process executes at once when WORKER_CONCURRENCY is not set, by warehouse (measured, see
 * BENCHMARKS.md "worker path, I/O-bound"). Embedded DuckDB executes every statement inside the worker process, so
 * more runs at once only queue on the same cores. A BigQuery run spends nearly all its time waiting on its query
 * job (≈ 3 ms of worker CPU per run), so one process keeps 100 in flight within one core and ~200 MB RSS.
 */
export const DEFAULT_WORKER_CONCURRENCY: Record<'duckdb' | 'bigquery', number> = { duckdb: 5, bigquery: 100 };
/** A size as DuckDB's settings take it: `512MiB`, `4GiB`, `2.5GB`. */
const DUCKDB_SIZE = /^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/;

const schema = Joi.object({
  NODE_ENV: Joi.string().valid('development', 'production', 'test').default('development'),
  ROLE: Joi.string().valid(...ROLES).default('all'),
  HOST: Joi.string().default('0.0.0.0'),
  PORT: Joi.number().integer().min(0).max(65535).default(8080),
  HEALTH_PORT: Joi.number().integer().min(0).max(65535),
  TRUST_PROXY: Joi.boolean().default(false),
  PROXY_HOPS: Joi.number().integer().min(1).max(10).default(1),
  DATA_DIR: Joi.string().default('./data'),
  CONFIGS_DIR: Joi.string().default('./configs'),
  LOG_LEVEL: Joi.string().valid('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent').default('info'),
  LOG_BUFFER_BYTES: Joi.number().integer().min(0).max(16000).default(4096),
  LOG_FLUSH_INTERVAL_MS: Joi.number().integer().min(1).max(60000).default(100),
  REDIS_URL: Joi.string().uri({ scheme: ['redis', 'rediss'] }).default('redis://127.0.0.1:6379'),
  REDIS_CLUSTER_NODES: Joi.string().pattern(/^[A-Za-z0-9.-]+:\d{1,5}(,[A-Za-z0-9.-]+:\d{1,5})*$/, 'host:port,host:port'),
  REDIS_AUTOSTART: Joi.boolean().default(true),
  REDIS_KEY_PREFIX: Joi.string().pattern(/^[A-Za-z0-9_-]{1,32}$/).default('cv'),
  REDIS_COMMAND_TIMEOUT_MS: Joi.number().integer().min(100).max(60000).default(1000),
  REDIS_FAILOVER_WAIT_MS: Joi.number().integer().min(0).max(600000).default(30000),
  WAREHOUSE: Joi.string().valid('duckdb', 'bigquery').default('duckdb'),
  DUCKDB_PATH: Joi.string(),
  DUCKDB_MEMORY_LIMIT: Joi.string().pattern(DUCKDB_SIZE),
  DUCKDB_MAX_TEMP_DIRECTORY_SIZE: Joi.string().pattern(DUCKDB_SIZE),
  GCP_PROJECT_ID: Joi.string().pattern(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/).when('WAREHOUSE', {
    is: 'bigquery',
    then: Joi.required(),
  }),
  BIGQUERY_LOCATION: Joi.string().default('US'),
  BIGQUERY_API_ENDPOINT: Joi.string().uri({ scheme: ['http', 'https'] }),
  OFFBOARD_EXPORT_DIR: Joi.string(),
  OFFBOARD_EXPORT_URI: Joi.string().pattern(/^gs:\/\/[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](\/[A-Za-z0-9._\/-]*)?$/, 'gs://bucket/path'),
  KEY_MANAGER: Joi.string().valid('local', 'gcp').default('local'),
  KMS_KEY_NAME: Joi.string()
    .pattern(/^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/)
    .when('KEY_MANAGER', { is: 'gcp', then: Joi.required() }),
  KMS_API_ENDPOINT: Joi.string().uri({ scheme: ['http', 'https'] }),
  KMS_TIMEOUT_MS: Joi.number().integer().min(100).max(60_000).default(5000),
  ADMIN_API_KEY: Joi.string().min(16),
  DISABLE_AUTH: Joi.boolean().default(false),
  // No fixed default: it follows the warehouse (DEFAULT_WORKER_CONCURRENCY).
  WORKER_CONCURRENCY: Joi.number().integer().min(1).max(256),
  AUTH_CACHE_TTL_MS: Joi.number().integer().min(0).max(3_600_000).default(5000),
  WORKER_LOCK_DURATION_MS: Joi.number().integer().min(1000).default(30000),
  RUN_RETENTION_SECONDS: Joi.number().integer().min(0).default(3600),
  RUN_RETENTION_COUNT: Joi.number().integer().min(0).default(1000),
  FAIR_DISPATCH: Joi.boolean().default(true),
  SCHEDULER_MODE: Joi.string().valid('internal', 'external').default('internal'),
  ORPHAN_MARGIN_MINUTES: Joi.number().integer().min(1).default(60),
  RATE_LIMIT_RUN_PER_MINUTE: Joi.number().integer().min(1).default(50),
  RATE_LIMIT_TENANT_PER_MINUTE: Joi.number().integer().min(1).default(600),
  RATE_LIMIT_IP_PER_MINUTE: Joi.number().integer().min(1).default(30),
  RATE_LIMIT_ADMIN_PER_MINUTE: Joi.number().integer().min(1).default(600),
  RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: Joi.number().integer().min(1).default(20),
  // No default here: it depends on NODE_ENV (see loadConfig).
  METRICS_AUTH: Joi.string().valid('none', 'admin'),
  SHUTDOWN_TIMEOUT_MS: Joi.number().integer().min(0).default(30000),
  ADMIN_QUERY_MAX_BYTES_BILLED: Joi.number().integer().min(1).default(10 * 1024 ** 3),
  ADMIN_QUERY_TIMEOUT_MS: Joi.number().integer().min(100).default(30000),
  ADMIN_QUERY_MAX_RESULT_BYTES: Joi.number().integer().min(1024).default(32 * 1024 ** 2),
  API_WAREHOUSE_TIMEOUT_MS: Joi.number().integer().min(100).default(30000),
  PLATFORM_WAREHOUSE_TIMEOUT_MS: Joi.number().integer().min(100).default(120000),
  WEBHOOK_TIMEOUT_MS: Joi.number().integer().min(50).max(60000).default(10000),
  WEBHOOK_ALLOW_PRIVATE: Joi.boolean().default(false),
  WEBHOOK_DISABLE_AFTER: Joi.number().integer().min(1).default(20),
  WEBHOOK_MAX_ATTEMPTS: Joi.number().integer().min(1).max(50).default(15),
  WEBHOOK_RETRY_BASE_MS: Joi.number().integer().min(1).default(30000),
  WEBHOOK_RETRY_MAX_MS: Joi.number().integer().min(1).default(4 * 3600 * 1000),
  WEBHOOK_CONCURRENCY: Joi.number().integer().min(1).max(256).default(20),
  WEBHOOK_ENDPOINT_CONCURRENCY: Joi.number().integer().min(1).max(256).default(2),
  WEBHOOK_TENANT_CONCURRENCY: Joi.number().integer().min(1).max(256).default(5),
  BIGQUERY_PRICE_PER_TIB_USD: Joi.number().min(0).default(6.25),
  BIGQUERY_PLATFORM_MAX_BYTES_BILLED: Joi.number().integer().min(1).default(100 * 1024 ** 3),
})
  .unknown(true)
  .prefs({ convert: true, abortEarly: false });

/** The validated environment, as joi converted it. */
interface EnvValues {
  NODE_ENV: Config['nodeEnv'];
  ROLE: Role;
  HOST: string;
  PORT: number;
  HEALTH_PORT?: number;
  TRUST_PROXY: boolean;
  PROXY_HOPS: number;
  DATA_DIR: string;
  CONFIGS_DIR: string;
  LOG_LEVEL: string;
  LOG_BUFFER_BYTES: number;
  LOG_FLUSH_INTERVAL_MS: number;
  REDIS_URL: string;
  REDIS_CLUSTER_NODES?: string;
  REDIS_AUTOSTART: boolean;
  REDIS_KEY_PREFIX: string;
  REDIS_COMMAND_TIMEOUT_MS: number;
  REDIS_FAILOVER_WAIT_MS: number;
  WAREHOUSE: 'duckdb' | 'bigquery';
  DUCKDB_PATH?: string;
  DUCKDB_MEMORY_LIMIT?: string;
  DUCKDB_MAX_TEMP_DIRECTORY_SIZE?: string;
  GCP_PROJECT_ID?: string;
  BIGQUERY_LOCATION: string;
  BIGQUERY_API_ENDPOINT?: string;
  OFFBOARD_EXPORT_DIR?: string;
  OFFBOARD_EXPORT_URI?: string;
  KEY_MANAGER: 'local' | 'gcp';
  KMS_KEY_NAME?: string;
  KMS_API_ENDPOINT?: string;
  KMS_TIMEOUT_MS: number;
  ADMIN_API_KEY?: string;
  DISABLE_AUTH: boolean;
  WORKER_CONCURRENCY?: number;
  AUTH_CACHE_TTL_MS: number;
  WORKER_LOCK_DURATION_MS: number;
  RUN_RETENTION_SECONDS: number;
  RUN_RETENTION_COUNT: number;
  FAIR_DISPATCH: boolean;
  SCHEDULER_MODE: 'internal' | 'external';
  ORPHAN_MARGIN_MINUTES: number;
  RATE_LIMIT_RUN_PER_MINUTE: number;
  RATE_LIMIT_TENANT_PER_MINUTE: number;
  RATE_LIMIT_IP_PER_MINUTE: number;
  RATE_LIMIT_ADMIN_PER_MINUTE: number;
  RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: number;
  METRICS_AUTH?: 'none' | 'admin';
  SHUTDOWN_TIMEOUT_MS: number;
  ADMIN_QUERY_MAX_BYTES_BILLED: number;
  ADMIN_QUERY_TIMEOUT_MS: number;
  ADMIN_QUERY_MAX_RESULT_BYTES: number;
  API_WAREHOUSE_TIMEOUT_MS: number;
  PLATFORM_WAREHOUSE_TIMEOUT_MS: number;
  WEBHOOK_TIMEOUT_MS: number;
  WEBHOOK_ALLOW_PRIVATE: boolean;
  WEBHOOK_DISABLE_AFTER: number;
  WEBHOOK_MAX_ATTEMPTS: number;
  WEBHOOK_RETRY_BASE_MS: number;
  WEBHOOK_RETRY_MAX_MS: number;
  WEBHOOK_CONCURRENCY: number;
  WEBHOOK_ENDPOINT_CONCURRENCY: number;
  WEBHOOK_TENANT_CONCURRENCY: number;
  BIGQUERY_PRICE_PER_TIB_USD: number;
  BIGQUERY_PLATFORM_MAX_BYTES_BILLED: number;
}

export class ConfigError extends Error {
  constructor(readonly variables: string[], message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const parseHostPort = (entry: string): HostPort => {
  const at = entry.lastIndexOf(':');
  return { host: entry.slice(0, at), port: Number(entry.slice(at + 1)) };
};

/** Pure function of the environment: no I/O, so it is testable with `{}`. */
export function loadConfig(env: Record<string, string | undefined>, roleOverride?: string): Config {
  const input: Record<string, string | undefined> = { ...env, ...(roleOverride === undefined ? {} : { ROLE: roleOverride }) };
  // Empty strings (as left by `VAR=` in .env) mean "unset".
  for (const [k, v] of Object.entries(input)) if (v === '') delete input[k];
  const { value, error } = schema.validate(input);
  if (error) {
    const vars = error.details.map((d) => String(d.path[0]));
    throw new ConfigError(vars, `Invalid configuration: ${error.details.map((d) => d.message).join('; ')}`);
  }
  const v = value as EnvValues;
  const nodeEnv = v.NODE_ENV;
  const isProduction = nodeEnv === 'production';
  if (isProduction && v.DISABLE_AUTH) {
    throw new ConfigError(['DISABLE_AUTH'], 'DISABLE_AUTH=true is refused when NODE_ENV=production');
  }
  if (isProduction && v.WEBHOOK_ALLOW_PRIVATE) {
    throw new ConfigError(['WEBHOOK_ALLOW_PRIVATE'], 'WEBHOOK_ALLOW_PRIVATE=true is refused when NODE_ENV=production');
  }
  if (isProduction && !v.ADMIN_API_KEY) {
    throw new ConfigError(['ADMIN_API_KEY'], 'ADMIN_API_KEY is required when NODE_ENV=production');
  }
  const clusterNodes = (v.REDIS_CLUSTER_NODES ?? '').split(',').filter(Boolean).map(parseHostPort);
  if (clusterNodes.some((n) => n.port < 1 || n.port > 65535)) {
    throw new ConfigError(['REDIS_CLUSTER_NODES'], 'REDIS_CLUSTER_NODES: every port must be between 1 and 65535');
  }
  const dataDir = path.resolve(v.DATA_DIR);
  return {
    nodeEnv,
    isProduction,
    role: v.ROLE,
    host: v.HOST,
    port: v.PORT,
    healthPort: v.HEALTH_PORT,
    trustProxy: v.TRUST_PROXY,
    proxyHops: v.PROXY_HOPS,
    dataDir,
    configsDir: path.resolve(v.CONFIGS_DIR),
    logLevel: v.LOG_LEVEL,
    logBufferBytes: v.LOG_BUFFER_BYTES,
    logFlushIntervalMs: v.LOG_FLUSH_INTERVAL_MS,
    redis: {
      url: v.REDIS_URL,
      clusterNodes,
      autostart: v.REDIS_AUTOSTART,
      keyPrefix: v.REDIS_KEY_PREFIX,
      commandTimeoutMs: v.REDIS_COMMAND_TIMEOUT_MS,
      failoverWaitMs: v.REDIS_FAILOVER_WAIT_MS,
    },
    warehouse: {
      kind: v.WAREHOUSE,
      duckdbPath: path.resolve(v.DUCKDB_PATH ?? path.join(dataDir, 'warehouse.duckdb')),
      gcpProjectId: v.GCP_PROJECT_ID,
      bigqueryLocation: v.BIGQUERY_LOCATION,
      bigqueryApiEndpoint: v.BIGQUERY_API_ENDPOINT,
      exportDir: path.resolve(v.OFFBOARD_EXPORT_DIR ?? path.join(dataDir, 'exports')),
      exportUri: v.OFFBOARD_EXPORT_URI,
      pricePerTibUsd: v.BIGQUERY_PRICE_PER_TIB_USD,
      platformMaxBytesBilled: v.BIGQUERY_PLATFORM_MAX_BYTES_BILLED,
      duckdbMemoryLimit: v.DUCKDB_MEMORY_LIMIT,
      duckdbMaxTempDirectorySize: v.DUCKDB_MAX_TEMP_DIRECTORY_SIZE,
    },
    keyManager: {
      kind: v.KEY_MANAGER,
      keyringPath: path.join(dataDir, 'keyring.json'),
      kmsKeyName: v.KMS_KEY_NAME,
      kmsApiEndpoint: v.KMS_API_ENDPOINT,
      kmsTimeoutMs: v.KMS_TIMEOUT_MS,
    },
    auth: { adminApiKey: v.ADMIN_API_KEY, adminKeyPath: path.join(dataDir, 'admin-key'), disableAuth: v.DISABLE_AUTH, cacheTtlMs: v.AUTH_CACHE_TTL_MS },
    worker: {
      concurrency: v.WORKER_CONCURRENCY ?? DEFAULT_WORKER_CONCURRENCY[v.WAREHOUSE],
      lockDurationMs: v.WORKER_LOCK_DURATION_MS,
      completedRetentionSeconds: v.RUN_RETENTION_SECONDS,
      retainedJobCount: v.RUN_RETENTION_COUNT,
    },
    fairDispatch: v.FAIR_DISPATCH,
    scheduler: { mode: v.SCHEDULER_MODE, orphanMarginMinutes: v.ORPHAN_MARGIN_MINUTES },
    rateLimits: {
      runPerMinute: v.RATE_LIMIT_RUN_PER_MINUTE,
      tenantPerMinute: v.RATE_LIMIT_TENANT_PER_MINUTE,
      ipPerMinute: v.RATE_LIMIT_IP_PER_MINUTE,
      adminPerMinute: v.RATE_LIMIT_ADMIN_PER_MINUTE,
      authFailuresPerMinute: v.RATE_LIMIT_AUTH_FAILURES_PER_MINUTE,
    },
    // Metric labels name tenants, so production keeps them behind the admin key unless told otherwise.
    metricsAuth: v.METRICS_AUTH ?? (isProduction ? 'admin' : 'none'),
    shutdownTimeoutMs: v.SHUTDOWN_TIMEOUT_MS,
    adminQuery: { maxBytesBilled: v.ADMIN_QUERY_MAX_BYTES_BILLED, timeoutMs: v.ADMIN_QUERY_TIMEOUT_MS, maxResultBytes: v.ADMIN_QUERY_MAX_RESULT_BYTES },
    apiWarehouseTimeoutMs: v.API_WAREHOUSE_TIMEOUT_MS,
    platformWarehouseTimeoutMs: v.PLATFORM_WAREHOUSE_TIMEOUT_MS,
    webhooks: {
      timeoutMs: v.WEBHOOK_TIMEOUT_MS,
      allowPrivate: v.WEBHOOK_ALLOW_PRIVATE,
      disableAfter: v.WEBHOOK_DISABLE_AFTER,
      maxAttempts: v.WEBHOOK_MAX_ATTEMPTS,
      retryBaseMs: v.WEBHOOK_RETRY_BASE_MS,
      retryMaxMs: v.WEBHOOK_RETRY_MAX_MS,
      concurrency: v.WEBHOOK_CONCURRENCY,
      endpointConcurrency: v.WEBHOOK_ENDPOINT_CONCURRENCY,
      tenantConcurrency: v.WEBHOOK_TENANT_CONCURRENCY,
    },
  };
}
