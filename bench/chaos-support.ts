/**
 * What the chaos scenarios share: a steady trigger load against an API process, an AOF-on private
 * redis-server that can be killed and restarted on its own data, and the end-of-scenario audit
 * (every admitted run terminal, no slot held, none lost, none run twice, every run in the warehouse).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closeRedis, createRedis } from '../src/redis/connection';
import { RedisKeys } from '../src/redis/keys';
import { PIPELINE_RUNS_QUEUE } from '../src/queues/pipeline-runs';
import { redisAnswers } from '../src/redis/local-server';
import type { DuckDbWarehouse } from '../src/warehouse/duckdb';
import { callApi, eventually, freePort } from '../test/helpers/processes';
import type { RoleProcess } from '../test/helpers/processes';
import { BENCH_RUN_PATH, BENCH_TENANT } from './support';

export interface LoadHandle {
  /** Run ids answered 202. */
  admitted: string[];
  /** Trigger answers by status ("ECONNREFUSED" etc. for socket errors). */
  answers: Record<string, number>;
  stop(): Promise<void>;
}

/** Sends `perSecond` triggers a second (each a distinct run) until stopped, round-robin over the API processes. */
export function startLoad(apis: RoleProcess[], apiKey: string, perSecond: number): LoadHandle {
  const admitted: string[] = [];
  const answers: Record<string, number> = {};
  let n = 0;
  let stopped = false;
  const inFlight = new Set<Promise<void>>();
  const one = async (): Promise<void> => {
    n += 1;
    const api = apis[n % apis.length] as RoleProcess;
    try {
      const res = await callApi(api, 'POST', BENCH_RUN_PATH, { apiKey, body: { n } });
      answers[res.status] = (answers[res.status] ?? 0) + 1;
      if (res.status === 202) admitted.push(String(res.body['pipeline_logging_id']));
    } catch (err) {
      const code = (err as { cause?: { code?: string } }).cause?.code ?? 'fetch failed';
      answers[code] = (answers[code] ?? 0) + 1;
    }
  };
  const timer = setInterval(() => {
    if (stopped) return;
    const p = one().finally(() => inFlight.delete(p));
    inFlight.add(p);
  }, 1000 / perSecond);
  return {
    admitted,
    answers,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.all([...inFlight]);
    },
  };
}

export interface AofRedis {
  url: string;
  /** SIGKILL: only what reached the AOF survives. */
  crash(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** A private redis-server with AOF on (fsync every write, as a durable deployment would run it). */
export async function startAofRedis(): Promise<AofRedis> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-chaos-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], { stdio: 'ignore' });
    await eventually('chaos redis-server to answer', async () => ((await redisAnswers(url, 200)) ? true : undefined), 10_000);
  };
  const crash = async (): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGKILL');
    await gone;
  };
  await launch();
  return {
    url,
    crash,
    restart: launch,
    async close() {
      await crash();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Audit {
  admitted: number;
  /** Terminal runs by status. */
  terminal: Record<string, number>;
  /** Admitted but not terminal (or gone from Redis) at the deadline. */
  lost: number;
  /** Slots still held in the tenant's running set by runs whose trigger was answered 202. */
  slotsHeld: number;
  /**
   * Slots held by admissions Redis carried out while their trigger was answered 503 (the reply lost in the fault):
   * each must be what the never-queued sweep fails and frees 5 minutes after admission (PENDING, in the dispatch
   * backlog, no job); `strayHeld` counts those that are not (must be 0).
   */
  neverQueued: number;
  strayHeld: number;
  /** Runs whose execution started more than once (a killed worker's run re-delivered: allowed, idempotent). */
  startedTwice: number;
  /** Runs that reached a terminal state more than once in the warehouse (must be 0). */
  finishedTwice: number;
  /** Terminal runs without their terminal row in the warehouse view. */
  missingInWarehouse: number;
  ok: boolean;
}

const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

/** Waits (up to `timeoutMs`) for every admitted run to end and its rows to reach the warehouse, then counts. */
export async function audit(opts: { redisUrl: string; prefix: string; duckdb: DuckDbWarehouse; runIds: string[]; timeoutMs?: number }): Promise<Audit> {
  const keys = new RedisKeys(opts.prefix);
  const redis = createRedis(opts.redisUrl);
  const deadline = Date.now() + (opts.timeoutMs ?? 90_000);
  const statuses = new Map<string, string>();
  try {
    for (;;) {
      const pipeline = redis.pipeline();
      for (const id of opts.runIds) pipeline.hget(keys.run(BENCH_TENANT, id), 'status');
      const results = (await pipeline.exec()) ?? [];
      results.forEach(([, value], i) => statuses.set(opts.runIds[i] ?? '', String(value ?? 'MISSING')));
      if ([...statuses.values()].every((s) => TERMINAL.has(s)) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    // A run's slot is released right after its terminal status is written (run-terminal.lua, then release.lua): give
    // the last runs' releases a moment (up to 10 s) rather than reading the set the instant the statuses are terminal.
    const answered = new Set(opts.runIds);
    const heldSlots = async (): Promise<string[]> => redis.zrange(keys.running(BENCH_TENANT), 0, -1);
    let held = await heldSlots();
    for (const until = Date.now() + 10_000; held.some((id) => answered.has(id)) && Date.now() < until; held = await heldSlots()) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const unanswered = held.filter((id) => !answered.has(id));
    const slotsHeld = held.length - unanswered.length;
    const sweepable = await Promise.all(
      unanswered.map(async (id) => {
        const [status, backlog, job] = await Promise.all([
          redis.hget(keys.run(BENCH_TENANT, id), 'status'),
          redis.zscore(keys.dispatchBacklog(BENCH_TENANT), id),
          redis.exists(`${keys.bullPrefix}:${PIPELINE_RUNS_QUEUE}:${id}`),
        ]);
        return status === 'PENDING' && backlog !== null && job === 0;
      }),
    );
    const neverQueued = sweepable.filter(Boolean).length;
    const strayHeld = unanswered.length - neverQueued;
    const terminal: Record<string, number> = {};
    for (const s of statuses.values()) terminal[s] = (terminal[s] ?? 0) + 1;
    const lost = [...statuses.values()].filter((s) => !TERMINAL.has(s)).length;
    const ended = [...statuses].filter(([, s]) => TERMINAL.has(s)).map(([id]) => id);
    const missingInWarehouse = await warehouseMissing(opts.duckdb, ended, deadline);
    const twice = await opts.duckdb.query(
      `SELECT count(*) FILTER (WHERE started > 1) AS started_twice, count(*) FILTER (WHERE finished > 1) AS finished_twice FROM (
         SELECT pipeline_logging_id, count(DISTINCT CASE WHEN status = 'RUNNING' THEN worker_instance END) AS started,
                count(DISTINCT CASE WHEN status IN ('COMPLETED', 'FAILED', 'CANCELLED') THEN status END) AS finished
         FROM \`${BENCH_TENANT}.x_meta_pipeline_runs_events\` GROUP BY pipeline_logging_id)`,
    );
    const startedTwice = Number(twice.rows[0]?.started_twice ?? 0);
    const finishedTwice = Number(twice.rows[0]?.finished_twice ?? 0);
    return {
      admitted: opts.runIds.length, terminal, lost, slotsHeld, neverQueued, strayHeld, startedTwice, finishedTwice, missingInWarehouse,
      ok: lost === 0 && slotsHeld === 0 && strayHeld === 0 && finishedTwice === 0 && missingInWarehouse === 0,
    };
  } finally {
    await closeRedis(redis);
  }
}

async function warehouseMissing(duckdb: DuckDbWarehouse, ids: string[], deadline: number): Promise<number> {
  if (ids.length === 0) return 0;
  for (;;) {
    const { rows } = await duckdb.query(`SELECT pipeline_logging_id FROM \`${BENCH_TENANT}.x_meta_pipeline_runs\` WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED')`);
    const seen = new Set(rows.map((r) => String(r.pipeline_logging_id)));
    const missing = ids.filter((id) => !seen.has(id)).length;
    if (missing === 0 || Date.now() > deadline) return missing;
    await new Promise((r) => setTimeout(r, 500));
  }
}
