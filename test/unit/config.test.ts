import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../src/config';

describe('loadConfig', () => {
  it('gives the embedded defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c.port).to.equal(8080);
    expect(c.role).to.equal('all');
    expect(c.warehouse.kind).to.equal('duckdb');
    expect(c.warehouse.duckdbPath).to.match(/data\/warehouse\.duckdb$/);
    expect(c.keyManager.keyringPath).to.match(/data\/keyring\.json$/);
    expect(c.keyManager.kmsTimeoutMs).to.equal(5000);
    expect(c.redis.url).to.equal('redis://127.0.0.1:6379');
    expect(c.scheduler.mode).to.equal('internal');
    expect(c.adminQuery).to.deep.equal({ maxBytesBilled: 10 * 1024 ** 3, timeoutMs: 30_000, maxResultBytes: 32 * 1024 ** 2 });
    expect(c.rateLimits).to.deep.equal({ runPerMinute: 50, tenantPerMinute: 600, ipPerMinute: 30, adminPerMinute: 600, authFailuresPerMinute: 20 });
    expect([c.trustProxy, c.proxyHops]).to.deep.equal([false, 1]);
    expect([c.apiWarehouseTimeoutMs, c.platformWarehouseTimeoutMs]).to.deep.equal([30_000, 120_000]);
  });

  describe('WORKER_CONCURRENCY', () => {
    it('defaults by warehouse: 5 on embedded DuckDB, 100 on BigQuery (I/O-bound runs)', () => {
      expect(loadConfig({}).worker.concurrency).to.equal(5);
      expect(loadConfig({ WAREHOUSE: 'bigquery', GCP_PROJECT_ID: 'my-project' }).worker.concurrency).to.equal(100);
    });
    it('is taken as set, on either warehouse', () => {
      expect(loadConfig({ WORKER_CONCURRENCY: '12' }).worker.concurrency).to.equal(12);
      expect(loadConfig({ WAREHOUSE: 'bigquery', GCP_PROJECT_ID: 'my-project', WORKER_CONCURRENCY: '7' }).worker.concurrency).to.equal(7);
    });
    it('names WORKER_CONCURRENCY above 256', () => rejects({ WORKER_CONCURRENCY: '1000' }, 'WORKER_CONCURRENCY'));
  });

  describe('REDIS_FAILOVER_WAIT_MS', () => {
    it('defaults to 30 s and is taken as set (0: ioredis\' own short retry)', () => {
      expect(loadConfig({}).redis.failoverWaitMs).to.equal(30_000);
      expect(loadConfig({ REDIS_FAILOVER_WAIT_MS: '0' }).redis.failoverWaitMs).to.equal(0);
    });
    it('names REDIS_FAILOVER_WAIT_MS when negative', () => rejects({ REDIS_FAILOVER_WAIT_MS: '-1' }, 'REDIS_FAILOVER_WAIT_MS'));
  });

  it('takes the role from the CLI argument over ROLE', () => {
    expect(loadConfig({ ROLE: 'api' }, 'worker').role).to.equal('worker');
  });

  it('treats an empty value (VAR= in .env) as unset', () => {
    expect(loadConfig({ PORT: '' }).port).to.equal(8080);
  });

  const rejects = (env: Record<string, string>, variable: string): void => {
    try {
      loadConfig(env);
    } catch (err) {
      expect(err).to.be.instanceOf(ConfigError);
      expect((err as ConfigError).variables).to.include(variable);
      expect((err as Error).message).to.include(variable);
      return;
    }
    expect.fail(`expected ${variable} to be rejected`);
  };

  describe('DuckDB resources', () => {
    it('leave memory and temp space to the adapter by default, and take DuckDB sizes as set', () => {
      expect(loadConfig({}).warehouse).to.include({ duckdbMemoryLimit: undefined, duckdbMaxTempDirectorySize: undefined });
      const set = loadConfig({ DUCKDB_MEMORY_LIMIT: '4GiB', DUCKDB_MAX_TEMP_DIRECTORY_SIZE: '20GB', ADMIN_QUERY_MAX_RESULT_BYTES: '1048576' });
      expect(set.warehouse).to.include({ duckdbMemoryLimit: '4GiB', duckdbMaxTempDirectorySize: '20GB' });
      expect(set.adminQuery.maxResultBytes).to.equal(1024 ** 2);
    });
  });

  describe('offboarding exports', () => {
    it('go under DATA_DIR/exports by default, with no gs:// URI', () => {
      const cfg = loadConfig({ DATA_DIR: '/srv/cv' });
      expect(cfg.warehouse.exportDir).to.equal('/srv/cv/exports');
      expect(cfg.warehouse.exportUri).to.equal(undefined);
    });
    it('take OFFBOARD_EXPORT_DIR and OFFBOARD_EXPORT_URI', () => {
      const cfg = loadConfig({ OFFBOARD_EXPORT_DIR: '/mnt/exports', OFFBOARD_EXPORT_URI: 'gs://leaving-bucket/archive' });
      expect([cfg.warehouse.exportDir, cfg.warehouse.exportUri]).to.deep.equal(['/mnt/exports', 'gs://leaving-bucket/archive']);
    });
    it('names OFFBOARD_EXPORT_URI when it is not a gs:// URI', () => rejects({ OFFBOARD_EXPORT_URI: 'https://example.com/x' }, 'OFFBOARD_EXPORT_URI'));
  });

  describe('when a value is bad', () => {
    it('names PORT for a non-number', () => rejects({ PORT: 'eighty' }, 'PORT'));
    it('names WAREHOUSE for an unknown warehouse', () => rejects({ WAREHOUSE: 'snowflake' }, 'WAREHOUSE'));
    it('names REDIS_URL for a non-redis URL', () => rejects({ REDIS_URL: 'http://x' }, 'REDIS_URL'));
    it('names GCP_PROJECT_ID when BigQuery is chosen without it', () => rejects({ WAREHOUSE: 'bigquery' }, 'GCP_PROJECT_ID'));
    it('names KMS_KEY_NAME when Cloud KMS is chosen without it', () => rejects({ KEY_MANAGER: 'gcp' }, 'KMS_KEY_NAME'));
    it('names KMS_TIMEOUT_MS when it is below 100 ms', () => rejects({ KMS_TIMEOUT_MS: '0' }, 'KMS_TIMEOUT_MS'));
    it('names PLATFORM_WAREHOUSE_TIMEOUT_MS when it is below 100 ms', () => rejects({ PLATFORM_WAREHOUSE_TIMEOUT_MS: '0' }, 'PLATFORM_WAREHOUSE_TIMEOUT_MS'));
    it('names WORKER_CONCURRENCY when it is zero', () => rejects({ WORKER_CONCURRENCY: '0' }, 'WORKER_CONCURRENCY'));
    it('names PROXY_HOPS when it is zero (no balancer entry would be read)', () => rejects({ TRUST_PROXY: 'true', PROXY_HOPS: '0' }, 'PROXY_HOPS'));
    it('names ADMIN_QUERY_MAX_BYTES_BILLED when it is not a whole number', () => rejects({ ADMIN_QUERY_MAX_BYTES_BILLED: '10GB' }, 'ADMIN_QUERY_MAX_BYTES_BILLED'));
    it('names DUCKDB_MEMORY_LIMIT when DuckDB could not read it as a size', () => rejects({ DUCKDB_MEMORY_LIMIT: '50%' }, 'DUCKDB_MEMORY_LIMIT'));
  });

  describe('in production', () => {
    it('refuses DISABLE_AUTH=true', () => rejects({ NODE_ENV: 'production', DISABLE_AUTH: 'true', ADMIN_API_KEY: 'x'.repeat(32) }, 'DISABLE_AUTH'));
    it('refuses to start without ADMIN_API_KEY', () => rejects({ NODE_ENV: 'production' }, 'ADMIN_API_KEY'));
    it('starts with an admin key and auth on', () => {
      expect(loadConfig({ NODE_ENV: 'production', ADMIN_API_KEY: 'x'.repeat(32) }).isProduction).to.equal(true);
    });
    it('puts /metrics behind the admin key unless METRICS_AUTH says otherwise (its labels name tenants)', () => {
      expect(loadConfig({ NODE_ENV: 'production', ADMIN_API_KEY: 'x'.repeat(32) }).metricsAuth).to.equal('admin');
      expect(loadConfig({ NODE_ENV: 'production', ADMIN_API_KEY: 'x'.repeat(32), METRICS_AUTH: 'none' }).metricsAuth).to.equal('none');
    });
  });

  describe('outside production', () => {
    it('leaves /metrics open by default and honours METRICS_AUTH=admin', () => {
      expect(loadConfig({}).metricsAuth).to.equal('none');
      expect(loadConfig({ NODE_ENV: 'test', METRICS_AUTH: 'admin' }).metricsAuth).to.equal('admin');
    });
    it('names METRICS_AUTH for an unknown value', () => rejects({ METRICS_AUTH: 'public' }, 'METRICS_AUTH'));
  });
});
