import Redis, { Cluster } from 'ioredis';
import type { ClusterOptions, RedisOptions } from 'ioredis';
import type { HostPort } from '../config';
import { defineScripts } from './scripts';

export type { Redis, Cluster, HostPort };

/**
 * What the product's code depends on: one Redis server or a Redis Cluster. Both speak the same
 * commands; on a Cluster every Lua script, MULTI and multi-key command must stay within one hash
 * slot (keys.ts tags every key of a tenant with `{t:<tenantId>}` for that).
 */
export type RedisClient = Redis | Cluster;

/** Where Redis is: the URL of one server, or seed nodes of a cluster (the client discovers the others). */
export type RedisTarget = { kind: 'standalone'; url: string } | { kind: 'cluster'; nodes: HostPort[] };

export function redisTargetOf(redis: { url: string; clusterNodes: HostPort[] }): RedisTarget {
  return redis.clusterNodes.length > 0 ? { kind: 'cluster', nodes: redis.clusterNodes } : { kind: 'standalone', url: redis.url };
}

/** For logs and error messages: the cluster's seed nodes, or the URL without its password. */
export function describeTarget(target: RedisTarget): string {
  if (target.kind === 'cluster') return `cluster ${target.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
  const url = new URL(target.url);
  if (url.password) url.password = '***';
  return url.toString();
}

export interface RedisConnectOptions {
  /** Fail commands fast when disconnected (API): no offline queue, bounded command time. */
  failFast?: boolean;
  commandTimeoutMs?: number;
  /** BullMQ workers need `maxRetriesPerRequest: null`. */
  forBullMQ?: boolean;
  /**
   * A BullMQ producer (queues only, never a Worker's connection): as `forBullMQ`, and commands of concurrent
   * requests issued in the same tick share one write (ioredis auto-pipelining). Workers keep a connection
   * without it: BullMQ's blocking and lock-renewal commands must not wait behind a batch.
   */
  producer?: boolean;
  connectionName?: string;
  /**
   * Cluster only: how long a command keeps being retried while its slot's master is gone (killed, failing over to
   * its replica) or the cluster answers CLUSTERDOWN, before it fails. Unset: ioredis' default, 16 tries 100 ms
   * apart (about 2 s; the API then answers 503). Background roles set REDIS_FAILOVER_WAIT_MS so a run rides out a failover.
   * Such a connection also sends each command on its own (no auto-pipelining): ioredis follows a MOVED for a single
   * command, but hands it to the caller from an auto-pipelined batch whose other commands were answered — as the old
   * master answers while a graceful failover or a reshard completes.
   */
  failoverWaitMs?: number;
}

const retryDelayMs = (attempt: number): number => Math.min(attempt * 200, 2000);

/** What each kind of connection needs, whether it talks to one server or to a cluster. */
interface Behaviour {
  node: RedisOptions;
  offlineQueue: boolean;
  autoPipelining: boolean;
  /** Commands sent on their own even with auto-pipelining on (see failFast below). */
  notPipelined?: string[];
  readyCheck: boolean;
}

function behaviourOf(options: RedisConnectOptions): Behaviour {
  const node: RedisOptions = { connectionName: options.connectionName };
  // An add retried after a reconnect is safe: runs are added with their run id as job id, and BullMQ keeps one job per id.
  if (options.forBullMQ || options.producer) return { node: { ...node, maxRetriesPerRequest: null }, offlineQueue: true, autoPipelining: options.producer === true, readyCheck: false };
  if (options.failFast) {
    const ms = options.commandTimeoutMs ?? 1000;
    // Commands issued in the same tick by concurrent requests share one write and one read (per node on a
    // cluster): under load a trigger's commands ride with other requests' instead of costing a system call each
    // (the rate-limit script's own write was 8 % of the API's CPU at saturation, BENCHMARKS.md). ioredis sends one
    // auto-pipeline at a time, so while Redis is frozen a batch waits for the previous batch's timeout before its
    // own starts: a request meets a frozen Redis after at most 2 x commandTimeout and answers 503
    // DEPENDENCY_UNAVAILABLE. Rate-limiter-flexible's `rlflxIncr` (failed authentications only), the auth-cache
    // miss lookups and the readiness ping still go out at once, so /health/ready and a wrong key answer after one.
    const notPipelined = ['hgetall', 'ping', 'rlflxIncr'];
    // A command whose request already failed (timed out) must not run later: without this, ioredis sends the
    // commands still awaiting a reply again once it reconnects, e.g. an admission after Redis was restarted.
    const failFastNode: RedisOptions = { ...node, maxRetriesPerRequest: 1, commandTimeout: ms, connectTimeout: ms, autoResendUnfulfilledCommands: false };
    return { node: failFastNode, offlineQueue: false, autoPipelining: true, notPipelined, readyCheck: true };
  }
  return { node: { ...node, maxRetriesPerRequest: 3 }, offlineQueue: true, autoPipelining: false, readyCheck: true };
}

const FAILOVER_RETRY_DELAY_MS = 250;

/**
 * ioredis retries a command whose node connection closed (or that met CLUSTERDOWN/TRYAGAIN) after a delay, with a
 * fresh slot map, until it used up `maxRedirections`. While the master is not replaced yet, one try can spend two
 * (a MOVED from another node to the dead master, then its closed connection), so the budget counts two per delay.
 */
function failoverRetries(waitMs: number): Partial<ClusterOptions> {
  const tries = Math.ceil(waitMs / FAILOVER_RETRY_DELAY_MS);
  return { retryDelayOnFailover: FAILOVER_RETRY_DELAY_MS, retryDelayOnClusterDown: FAILOVER_RETRY_DELAY_MS, maxRedirections: Math.max(16, 2 * tries) };
}

/** A string is the URL of one server (benchmarks and tools); the product passes a RedisTarget. */
export function createRedis(target: RedisTarget | string, options: RedisConnectOptions = {}): RedisClient {
  return defineScripts(connect(target, options));
}

function connect(target: RedisTarget | string, options: RedisConnectOptions): RedisClient {
  const where: RedisTarget = typeof target === 'string' ? { kind: 'standalone', url: target } : target;
  const b = behaviourOf(options);
  if (where.kind === 'standalone') {
    return new Redis(where.url, {
      ...b.node,
      lazyConnect: false,
      retryStrategy: retryDelayMs,
      enableOfflineQueue: b.offlineQueue,
      enableAutoPipelining: b.autoPipelining,
      ...(b.notPipelined ? { autoPipeliningIgnoredCommands: b.notPipelined } : {}),
      enableReadyCheck: b.readyCheck,
    });
  }
  const waitMs = options.failoverWaitMs ?? 0;
  const waits = waitMs > 0;
  // ioredis starts a command's timeout at its first send and keeps it across the cluster's retries: a command that
  // waits out a failover may take that long (it is also how long it waits for a frozen master).
  const node = waits && b.node.commandTimeout !== undefined ? { ...b.node, commandTimeout: Math.max(b.node.commandTimeout, waitMs) } : b.node;
  const clusterOptions: ClusterOptions = {
    // Node connections do not reconnect on their own in ioredis: the cluster refreshes its slot map instead.
    redisOptions: node,
    clusterRetryStrategy: retryDelayMs,
    enableOfflineQueue: b.offlineQueue,
    enableAutoPipelining: b.autoPipelining && !waits,
    ...(b.notPipelined ? { autoPipeliningIgnoredCommands: b.notPipelined } : {}),
    enableReadyCheck: b.readyCheck,
    slotsRefreshTimeout: Math.max(1000, options.commandTimeoutMs ?? 1000),
    ...(waits ? failoverRetries(waitMs) : {}),
  };
  return new Cluster(where.nodes, clusterOptions);
}

/** Waits until the connection is ready or fails after `timeoutMs`. */
export async function waitForReady(redis: RedisClient, timeoutMs = 5000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis did not become ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}

/** Closes a connection, falling back to disconnect when QUIT cannot be sent. */
export async function closeRedis(redis: RedisClient): Promise<void> {
  if (redis.status === 'end') return;
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}
