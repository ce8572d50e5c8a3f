import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import supertest from 'supertest';
import type { Role } from '../../src/config';
import { loadConfig } from '../../src/config';
import { createLogger, silentLogger } from '../../src/shared/logger';
import type { Logger } from '../../src/shared/logger';
import type { Clock } from '../../src/shared/clock';
import { createSystem } from '../../src/system/system';
import type { System, SystemOptions } from '../../src/system/system';
import type { Warehouse } from '../../src/warehouse/types';
import type { RedisTarget } from '../../src/redis/connection';
import { createTestDuckDb } from './warehouse';
import { dropTestKeys } from './redis';
import { defaultRedisTarget, redisEnvOf } from './redis-targets';

export interface TestSystem {
  system: System;
  request: supertest.Agent;
  adminKey: string;
  warehouse: Warehouse;
  prefix: string;
  dataDir: string;
  close(): Promise<void>;
}

export interface TestSystemOptions {
  role?: Role;
  env?: Record<string, string>;
  warehouse?: Warehouse;
  logger?: Logger;
  clock?: Clock;
  onboardingFaults?: SystemOptions['onboardingFaults'];
  runFaults?: SystemOptions['runFaults'];
  /** How webhook hosts resolve (the SSRF guard's DNS), instead of dns.lookup. */
  webhookResolveAll?: SystemOptions['webhookResolveAll'];
  /** The single test server unless given (or the cluster when TEST_REDIS=cluster). */
  redis?: RedisTarget;
  offboardingFaults?: SystemOptions['offboardingFaults'];
  /**
   * Another system's Redis key prefix: a second API process of the same deployment, or a restart (stop that system
   * with `system.close()`, start this one).
   */
  prefix?: string;
  /** The run log writer's base flush interval (default 50 ms, so tests see rows quickly). */
  logFlushIntervalMs?: number;
}

/**
 * The whole product in this process against the real Redis (a private key prefix) and a fresh DuckDB file:
 * the same composition `npm start` uses, with an HTTP server on a random port.
 */
export async function startTestSystem(options: TestSystemOptions = {}): Promise<TestSystem> {
  const redisTarget = options.redis ?? (await defaultRedisTarget());
  const prefix = options.prefix ?? `t${randomBytes(4).toString('hex')}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-sys-'));
  // DATA_DIR/exports: where the config's OFFBOARD_EXPORT_DIR points by default, the one directory the instance may write.
  const owned = options.warehouse ? null : await createTestDuckDb({ exportsDir: path.join(dataDir, 'exports') });
  const warehouse = options.warehouse ?? owned?.warehouse;
  if (!warehouse) throw new Error('no warehouse');
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    ...redisEnvOf(redisTarget),
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    ADMIN_API_KEY: `admin_${randomBytes(12).toString('hex')}`,
    RATE_LIMIT_IP_PER_MINUTE: '100000',
    RATE_LIMIT_TENANT_PER_MINUTE: '100000',
    RATE_LIMIT_RUN_PER_MINUTE: '100000',
    RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '100000',
    SCHEDULER_MODE: 'external',
    WORKER_LOCK_DURATION_MS: '5000',
    SHUTDOWN_TIMEOUT_MS: '2000',
    ...options.env,
  });
  const system = await createSystem(config, {
    logger: options.logger ?? silentLogger(),
    warehouse,
    logFlushIntervalMs: options.logFlushIntervalMs ?? 50,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.onboardingFaults ? { onboardingFaults: options.onboardingFaults } : {}),
    ...(options.runFaults ? { runFaults: options.runFaults } : {}),
    ...(options.offboardingFaults ? { offboardingFaults: options.offboardingFaults } : {}),
    ...(options.webhookResolveAll ? { webhookResolveAll: options.webhookResolveAll } : {}),
  });
  await system.start(options.role ?? 'all');
  const server = system.server();
  const request = server ? supertest.agent(server) : supertest.agent('http://127.0.0.1:1');
  return {
    system,
    request,
    adminKey: system.adminApiKey,
    warehouse,
    prefix,
    dataDir,
    async close() {
      await system.close();
      await dropTestKeys(redisTarget, prefix);
      await owned?.cleanup();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Onboards a tenant through the API and returns its key. */
export async function onboard(t: TestSystem, tenantId: string, plan = 'STARTER'): Promise<string> {
  const res = await t.request
    .post('/api/v1/tenants/onboard')
    .set('X-Admin-Key', t.adminKey)
    .send({ tenant_id: tenantId, company_name: `${tenantId} Inc`, admin_email: `admin@${tenantId.replace(/_/g, '')}.com`, subscription_plan: plan });
  if (res.status !== 201) throw new Error(`onboarding ${tenantId} failed: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { api_key: string }).api_key;
}

/** Polls a run until it is terminal (the worker runs in this process). */
export async function waitForRun(t: TestSystem, apiKey: string, runId: string, timeoutMs = 15000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await t.request.get(`/api/v1/pipelines/runs/${runId}`).set('X-API-Key', apiKey);
    const status = (res.body as { status?: string }).status;
    if (status === 'COMPLETED' || status === 'FAILED' || status === 'CANCELLED') return res.body as Record<string, unknown>;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const captureLogger = (): { logger: Logger; lines: string[] } => {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => lines.push(line) } });
  return { logger, lines };
};
