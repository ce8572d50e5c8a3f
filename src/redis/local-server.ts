import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Redis, { Cluster } from 'ioredis';
import type { HostPort, RedisTarget } from './connection';
import { describeTarget } from './connection';

/**
 * The embedded default: when nothing answers at REDIS_URL and a `redis-server` binary is on PATH,
 * start a private one (data under DATA_DIR/redis, AOF on) and stop it on exit. Never with
 * REDIS_CLUSTER_NODES: a cluster is infrastructure someone runs, so it is only checked.
 * (redis-memory-server is not usable: its install step downloads sources, which fails offline.)
 */
export interface LocalRedis {
  url: string;
  /** Null when an existing server answered and nothing was started. */
  process: ChildProcess | null;
  stop(): Promise<void>;
}

export async function redisAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: timeoutMs, retryStrategy: () => null, enableOfflineQueue: false });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/** True when a cluster's seed nodes answer and it serves all its slots (CLUSTER INFO says ok). */
export async function clusterAnswers(nodes: HostPort[], timeoutMs = 3000): Promise<boolean> {
  const probe = new Cluster(nodes, {
    lazyConnect: true,
    enableOfflineQueue: false,
    clusterRetryStrategy: () => null,
    slotsRefreshTimeout: timeoutMs,
    redisOptions: { connectTimeout: timeoutMs, maxRetriesPerRequest: 0 },
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return /cluster_state:ok/.test(await probe.cluster('INFO'));
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

export function redisServerOnPath(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export class RedisUnavailableError extends Error {
  constructor(target: RedisTarget) {
    super(
      target.kind === 'cluster'
        ? `The Redis Cluster at REDIS_CLUSTER_NODES (${describeTarget(target)}) does not answer or does not serve all its slots. ` +
            'Fix: check the nodes and `redis-cli -c -h <host> -p <port> cluster info` (cluster_state:ok), or unset REDIS_CLUSTER_NODES to use REDIS_URL.'
        : `Nothing answers at REDIS_URL=${describeTarget(target)} and no redis-server binary is on PATH. ` +
            'Fix: start Redis (e.g. `apt-get install redis-server` or `docker compose up redis`), or point REDIS_URL at a running server.',
    );
    this.name = 'RedisUnavailableError';
  }
}

const nothingStarted = (url: string): LocalRedis => ({ url, process: null, stop: async () => undefined });

export async function ensureRedis(options: { target: RedisTarget; autostart: boolean; dataDir: string }): Promise<LocalRedis> {
  const { target } = options;
  if (target.kind === 'cluster') {
    if (await clusterAnswers(target.nodes)) return nothingStarted(describeTarget(target));
    throw new RedisUnavailableError(target);
  }
  return ensureStandalone({ url: target.url, autostart: options.autostart, dataDir: options.dataDir });
}

async function ensureStandalone(options: { url: string; autostart: boolean; dataDir: string }): Promise<LocalRedis> {
  const target: RedisTarget = { kind: 'standalone', url: options.url };
  if (await redisAnswers(options.url)) return nothingStarted(options.url);
  if (!options.autostart || !redisServerOnPath()) throw new RedisUnavailableError(target);
  const parsed = new URL(options.url);
  const host = parsed.hostname || '127.0.0.1';
  if (host !== '127.0.0.1' && host !== 'localhost') throw new RedisUnavailableError(target);
  const port = Number(parsed.port || 6379);
  const dir = path.join(options.dataDir, 'redis');
  fs.mkdirSync(dir, { recursive: true });
  // A process group of its own: Ctrl-C signals the terminal's foreground group (npm, node and, without this, Redis
  // too), and a Redis gone at once left the draining process failing every command until its shutdown timed out.
  // The process stops it last (stop()), or on any exit of its own; only a SIGKILLed process leaves it running, and
  // the next start then finds it answering at REDIS_URL and uses it.
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--daemonize', 'no'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    detached: true,
  });
  const stopOnExit = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  process.once('exit', stopOnExit);
  child.once('exit', () => process.removeListener('exit', stopOnExit));
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if (await redisAnswers(options.url, 300)) {
      return {
        url: options.url,
        process: child,
        stop: () => stopChild(child),
      };
    }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new RedisUnavailableError(target);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
