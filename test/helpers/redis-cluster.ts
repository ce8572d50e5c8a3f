/**
 * A real Redis Cluster for tests: `masters` redis-server processes started with cluster mode on free
 * ports, joined by `redis-cli --cluster create … --cluster-replicas 0` (about a second, no Docker).
 * Persistence is off; each node's files live in a temporary directory removed by stop().
 *
 * `{ replicas: 1 }` starts one replica per master (`--cluster-replicas 1`, six processes) for failover tests:
 * `failover(slot, 'graceful')` runs CLUSTER FAILOVER on the replica of the slot's master (no write lost);
 * `failover(slot, 'kill')` SIGKILLs that master and waits until the cluster promoted its replica, which takes
 * about two `nodeTimeoutMs` (cluster-node-timeout: the time a silent master takes to be marked failed).
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HostPort, RedisTarget } from '../../src/redis/connection';
import { eventually, portIsFree } from './polling';

export interface TestRedisCluster {
  /** Every node (masters and replicas): the seed list the product is given. */
  nodes: HostPort[];
  target: RedisTarget;
  /** The port of the master serving `slot` now. */
  masterOf(slot: number): number;
  /** Hands a slot holding no keys to the master on `port` (CLUSTER SETSLOT … NODE on every master); clients learn it from a MOVED. */
  moveEmptySlot(slot: number, port: number): void;
  /**
   * Makes the replica of the master serving `slot` its master and resolves once every live node agrees
   * (cluster_state ok, the replica owns the slot); returns the old and the new master's ports. Needs `replicas` ≥ 1.
   */
  failover(slot: number, mode: 'graceful' | 'kill'): Promise<{ from: number; to: number }>;
  stop(): Promise<void>;
}

export interface ClusterShape {
  /** Replicas per master (default 0). */
  replicas?: number;
  /** cluster-node-timeout in ms (Redis' default 15 000 unless given). */
  nodeTimeoutMs?: number;
}

export const redisClusterToolsOnPath = (): boolean =>
  ['redis-server', 'redis-cli'].every((bin) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0);

/** Starts the cluster; a second attempt on other ports if the first lost a port race with another process. */
export async function startRedisCluster(masters = 3, shape: ClusterShape = {}): Promise<TestRedisCluster> {
  try {
    return await startOnce(masters, shape);
  } catch (first) {
    process.stderr.write(`Redis Cluster did not start (${(first as Error).message.split('\n')[0] ?? ''}); trying other ports\n`);
    return startOnce(masters, shape);
  }
}

async function startOnce(masters: number, shape: ClusterShape): Promise<TestRedisCluster> {
  const replicas = shape.replicas ?? 0;
  // A replica's first sync starts at once instead of after the default 5 s wait for other replicas to join it.
  const extraArgs = [...(shape.nodeTimeoutMs ? ['--cluster-node-timeout', String(shape.nodeTimeoutMs)] : []), ...(replicas > 0 ? ['--repl-diskless-sync-delay', '0'] : [])];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-redis-cluster-'));
  const ports: number[] = [];
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map(killed));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters * (1 + replicas); i += 1) {
      const port = await clusterPort(ports);
      ports.push(port);
      children.push(
        spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--save', '', '--appendonly', 'no', ...extraArgs], {
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
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes'], { encoding: 'utf8' });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.stdout}${create.stderr}`);
    const nodes = ports.map((port) => ({ host: '127.0.0.1', port }));
    // Every node must agree that all 16384 slots are served before clients route by its slot map.
    await eventually('the cluster to serve all slots', async () => (ports.every(stateOk) ? true : undefined), 15_000, 50);
    // A replica that has not synced yet cannot take over: wait for every replication link.
    if (replicas > 0) {
      await eventually('every replica to sync with its master', async () => (clusterNodes(ports[0] as number).every((n) => n.master || linkUp(n.port)) ? true : undefined), 15_000, 50);
    }
    cleanUpOnExit(children, dir);
    const childOf = (port: number): ChildProcess => children[ports.indexOf(port)] as ChildProcess;
    const live = (): number[] => ports.filter((p) => childOf(p).exitCode === null && childOf(p).signalCode === null);
    const masterOf = (slot: number): number => {
      const owner = clusterNodes(live()[0] as number).find((n) => n.master && n.slots.some(([a, b]) => slot >= a && slot <= b));
      if (!owner) throw new Error(`no master serves slot ${slot}`);
      return owner.port;
    };
    const moveEmptySlot = (slot: number, port: number): void => {
      const view = clusterNodes(port);
      const id = view.find((n) => n.port === port)?.id ?? '';
      // The masters serving slots, and the new owner (a replica just created may still be gossiped as an empty master).
      for (const p of view.filter((n) => n.master && !n.failed && (n.slots.length > 0 || n.port === port)).map((n) => n.port)) {
        const out = spawnSync('redis-cli', ['-p', String(p), 'cluster', 'setslot', String(slot), 'node', id], { encoding: 'utf8' }).stdout.trim();
        if (out !== 'OK') throw new Error(`CLUSTER SETSLOT ${slot} NODE on ${p} answered ${out}`);
      }
    };
    const failover = async (slot: number, mode: 'graceful' | 'kill'): Promise<{ from: number; to: number }> => {
      const from = masterOf(slot);
      const view = clusterNodes(from);
      const fromId = view.find((n) => n.port === from)?.id;
      const replica = view.find((n) => !n.master && n.masterId === fromId && !n.failed);
      if (!replica) throw new Error(`the master on port ${from} has no replica to fail over to`);
      if (mode === 'graceful') {
        const out = spawnSync('redis-cli', ['-p', String(replica.port), 'cluster', 'failover'], { encoding: 'utf8' }).stdout.trim();
        if (out !== 'OK') throw new Error(`CLUSTER FAILOVER on ${replica.port} answered ${out}`);
      } else {
        await killed(childOf(from));
      }
      await eventually(`the replica on ${replica.port} to serve slot ${slot}`, async () => (
        live().every((p) => stateOk(p) && clusterNodes(p).some((n) => n.port === replica.port && n.master && n.slots.some(([a, b]) => slot >= a && slot <= b))) ? true : undefined
      ), 30_000, 50);
      return { from, to: replica.port };
    };
    return { nodes, target: { kind: 'cluster', nodes }, masterOf, moveEmptySlot, failover, stop };
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

interface NodeLine { id: string; port: number; master: boolean; masterId: string; failed: boolean; slots: Array<[number, number]> }

/** CLUSTER NODES as one node sees it. */
function clusterNodes(port: number): NodeLine[] {
  const out = spawnSync('redis-cli', ['-p', String(port), 'cluster', 'nodes'], { encoding: 'utf8' }).stdout;
  return out.split('\n').filter((l) => l.trim() !== '').map((line) => {
    const [id = '', addr = '', flags = '', masterId = '', , , , , ...slots] = line.trim().split(' ');
    return {
      id,
      port: Number(addr.split('@')[0]?.split(':')[1]),
      master: flags.split(',').includes('master'),
      masterId,
      failed: /fail/.test(flags),
      // Plain ranges only ("0-5460" or "42"); "[slot->-node]" entries of a migration in progress are skipped.
      slots: slots.filter((s) => /^\d+(-\d+)?$/.test(s)).map((s) => {
        const [a, b] = s.split('-').map(Number);
        return [a as number, (b ?? a) as number];
      }),
    };
  });
}

const linkUp = (port: number): boolean => /master_link_status:up/.test(spawnSync('redis-cli', ['-p', String(port), 'info', 'replication'], { encoding: 'utf8' }).stdout);

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
