import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';

/**
 * The embedded default: when nothing answers at REDIS_URL and a `redis-server` binary is on PATH,
 * start a private one (data under DATA_DIR/redis, AOF on) and stop it on exit.
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

export function redisServerOnPath(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export class RedisUnavailableError extends Error {
  constructor(url: string) {
    super(
      `Nothing answers at REDIS_URL=${url} and no redis-server binary is on PATH. ` +
        'Fix: start Redis (e.g. `apt-get install redis-server` or `docker compose up redis`), or point REDIS_URL at a running server.',
    );
    this.name = 'RedisUnavailableError';
  }
}

export async function ensureRedis(options: { url: string; autostart: boolean; dataDir: string }): Promise<LocalRedis> {
  if (await redisAnswers(options.url)) return { url: options.url, process: null, stop: async () => undefined };
  if (!options.autostart || !redisServerOnPath()) throw new RedisUnavailableError(options.url);
  const parsed = new URL(options.url);
  const host = parsed.hostname || '127.0.0.1';
  if (host !== '127.0.0.1' && host !== 'localhost') throw new RedisUnavailableError(options.url);
  const port = Number(parsed.port || 6379);
  const dir = path.join(options.dataDir, 'redis');
  fs.mkdirSync(dir, { recursive: true });
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--daemonize', 'no'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
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
  throw new RedisUnavailableError(options.url);
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
