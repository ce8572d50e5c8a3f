/**
 * A real Redis Cluster for tests: `masters` redis-server processes started with cluster mode on free
 * ports, joined by `redis-cli --cluster create … --cluster-replicas 0` (about a second, no Docker).
 * Persistence is off; each node's files live in a temporary directory removed by stop().
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HostPort, RedisTarget } from '../../src/redis/connection';
import { eventually, portIsFree } from './polling';

export interface TestRedisCluster {
  nodes: HostPort[];
  target: RedisTarget;
  stop(): Promise<void>;
}

export const redisClusterToolsOnPath = (): boolean =>
  ['redis-server', 'redis-cli'].every((bin) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0);

/** Starts the cluster; a second attempt on other ports if the first lost a port race with another process. */
export async function startRedisCluster(masters = 3): Promise<TestRedisCluster> {
  try {
    return await startOnce(masters);
  } catch (first) {
    process.stderr.write(`Redis Cluster did not start (${(first as Error).message.split('\n')[0] ?? ''}); trying other ports\n`);
    return startOnce(masters);
  }
}

async function startOnce(masters: number): Promise<TestRedisCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-redis-cluster-'));
  const ports: number[] = [];
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map(killed));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i += 1) {
      const port = await clusterPort(ports);
      ports.push(port);
      children.push(
        spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--save', '', '--appendonly', 'no'], {
          stdio: 'ignore',
        }),
      );
    }
    await Promise.all(
      ports.map((port, i) =>
        eventually(`cluster node ${port} to listen`, async () => {
          if (children[i]?.exitCode !== null) throw new Error(`redis-server on port ${port} exited at start`);
          return ping(port) ? true : undefined;
        }, 5000, 50),
      ),
    );
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.stdout}${create.stderr}`);
    const nodes = ports.map((port) => ({ host: '127.0.0.1', port }));
    // Every node must agree that all 16384 slots are served before clients route by its slot map.
    await eventually('the cluster to serve all slots', async () => (ports.every(stateOk) ? true : undefined), 15_000, 50);
    cleanUpOnExit(children, dir);
    return { nodes, target: { kind: 'cluster', nodes }, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * A node also listens on its cluster bus port, port + 10000, which must stay ≤ 65535: ephemeral ports
 * (up to 60999 here) would fail one node in five. So ports come from 20000–29999, below the ephemeral
 * range, with both the port and its bus port free.
 */
async function clusterPort(taken: number[]): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if (!taken.includes(port) && (await portIsFree(port)) && (await portIsFree(port + 10_000))) return port;
  }
  throw new Error('no free port pair (port, port + 10000) for a Redis Cluster node');
}

const ping = (port: number): boolean => spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG';

const stateOk = (port: number): boolean => /cluster_state:ok/.test(spawnSync('redis-cli', ['-p', String(port), 'cluster', 'info'], { encoding: 'utf8' }).stdout);

function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** A test run that dies without its after-hooks must not leave cluster nodes (or their files) behind. */
function cleanUpOnExit(children: ChildProcess[], dir: string): void {
  process.once('exit', () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });
}
