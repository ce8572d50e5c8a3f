import type { Config } from '../config';
import type { Logger } from '../shared/logger';
import { closeRedis, createRedis, redisTargetOf, waitForReady } from '../redis/connection';
import type { RedisClient } from '../redis/connection';
import { createKeyManager } from '../security';
import type { KeyManager } from '../security/key-manager';
import { createWarehouse } from '../warehouse';
import { withWarehouseDeadlines } from '../warehouse/deadlines';
import type { Warehouse } from '../warehouse/types';

/** Every external connection of one process, and the order they close in. */
export interface Clients {
  /** Fail-fast connection for the request path (no offline queue, bounded command time). */
  redis: RedisClient;
  /** BullMQ connection (`maxRetriesPerRequest: null`), shared by queues and workers of this process. */
  bull: RedisClient;
  /** BullMQ producer connection of the run queue (auto-pipelined adds: concurrent triggers share a write). */
  producer: RedisClient;
  /** Subscriber connection for run cancellation messages. */
  subscriber: RedisClient;
  /**
   * The warehouse of every platform call: each takes at most API_WAREHOUSE_TIMEOUT_MS inside an API request,
   * PLATFORM_WAREHOUSE_TIMEOUT_MS anywhere else (src/warehouse/deadlines.ts).
   */
  warehouse: Warehouse;
  /** The same warehouse without those deadlines, for pipeline steps only: their step and run timeouts bound them. */
  stepWarehouse: Warehouse;
  keyManager: KeyManager;
  close(): Promise<void>;
}

export interface ClientOverrides {
  warehouse?: Warehouse;
  keyManager?: KeyManager;
}

export async function createClients(config: Config, logger: Logger, overrides: ClientOverrides = {}): Promise<Clients> {
  // One server or a cluster (REDIS_CLUSTER_NODES): every connection of the process goes to the same place.
  const target = redisTargetOf(config.redis);
  // A worker or scheduler process has no caller waiting: on a cluster its commands wait out a master's failover
  // (REDIS_FAILOVER_WAIT_MS) rather than fail a run's step or bookkeeping. A process serving the API (api, all)
  // keeps ioredis' short retry (about 2 s), so a request answers 503 DEPENDENCY_UNAVAILABLE instead of hanging.
  const background = config.role === 'worker' || config.role === 'scheduler';
  const failover = background && config.redis.failoverWaitMs > 0 ? { failoverWaitMs: config.redis.failoverWaitMs } : {};
  const redis = createRedis(target, { failFast: true, commandTimeoutMs: config.redis.commandTimeoutMs, connectionName: 'cv-api', ...failover });
  const bull = createRedis(target, { forBullMQ: true, connectionName: 'cv-bull', ...failover });
  const producer = createRedis(target, { producer: true, connectionName: 'cv-producer', ...failover });
  const subscriber = createRedis(target, { forBullMQ: true, connectionName: 'cv-sub', ...failover });
  for (const c of [redis, bull, producer, subscriber]) c.on('error', (err: Error) => logger.debug({ err: err.message }, 'redis connection error'));
  await waitForReady(redis, 10000);
  const own = overrides.warehouse ?? (await createWarehouse(config.warehouse, { dataDir: config.dataDir, logger }));
  // Calls made while serving an API request get API_WAREHOUSE_TIMEOUT_MS each, all others PLATFORM_WAREHOUSE_TIMEOUT_MS.
  // A process serving only the API bounds every call by API_WAREHOUSE_TIMEOUT_MS and its requests enter no scope.
  const warehouse = withWarehouseDeadlines(own, config.role === 'api' ? { apiOnlyTimeoutMs: config.apiWarehouseTimeoutMs } : { platformTimeoutMs: config.platformWarehouseTimeoutMs });
  const keyManager = overrides.keyManager ?? (await createKeyManager(config.keyManager, { logger }));
  return {
    redis,
    bull,
    producer,
    subscriber,
    warehouse,
    stepWarehouse: own,
    keyManager,
    async close() {
      await Promise.allSettled([closeRedis(subscriber), closeRedis(bull), closeRedis(producer), closeRedis(redis)]);
      if (!overrides.warehouse) await warehouse.close();
      if (!overrides.keyManager) await keyManager.close();
    },
  };
}
