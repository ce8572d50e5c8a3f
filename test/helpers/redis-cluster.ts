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
import { eventually, freePort } from './polling';

export interface TestRedisCluster {
  nodes: HostPort[];
  target: RedisTarget;
  stop(): Promise<void>;
}

export const redisClusterToolsOnPath = (): boolean =>
  ['redis-server', 'redis-cli'].every((bin) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0);

export async function startRedisCluster(masters = 3): Promise<TestRedisCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-redis-cluster-'));
  const ports: number[] = [];
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map(killed));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i += 1) {
      const port = await freePort();
      ports.push(port);
      children.push(
        spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--save', '', '--appendonly', 'no'], {
          stdio: 'ignore',
        }),
      );
    }
    await Promise.all(ports.map((port) => eventually(`cluster node ${port} to listen`, async () => (ping(port) ? true : undefined), 5000, 50)));
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.stdout}${create.stderr}`);
    const nodes = ports.map((port) => ({ host: '127.0.0.1', port }));
    // Every node must agree that all 16384 slots are served before clients route by its slot map.
    await eventually('the cluster to serve all slots', async () => (ports.every(stateOk) ? true : undefined), 15_000, 50);
    killOnExit(children);
    return { nodes, target: { kind: 'cluster', nodes }, stop };
  } catch (err) {
    await stop();
    throw err;
  }
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

/** A test run that dies without its after-hooks must not leave cluster nodes behind. */
function killOnExit(children: ChildProcess[]): void {
  process.once('exit', () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
}
