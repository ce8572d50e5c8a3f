/**
 * `npm run smoke:container`: builds the production image with podman or docker and proves it runs — role `all` on
 * the embedded defaults (DuckDB + local keyring inside the container), onboarding and `gcp/cost/dryrun` to
 * COMPLETED over HTTP, the engine's own healthcheck, then SIGTERM and a clean stop (exit 0, "stopped" logged).
 *
 * The container shares the host's network: the image carries no redis-server (production points REDIS_URL at a
 * managed Redis), so it uses the Redis at SMOKE_REDIS_URL (default the host's 127.0.0.1:6379, a private one is
 * started when nothing answers there) under a key prefix of its own, deleted afterwards. The base image is
 * NODE_IMAGE when set (e.g. node:20-bookworm-slim where pulls work), otherwise a stand-in built from this host's
 * node by scripts/container/node-base-image.sh. Engine flags: see scripts/container/engine.ts.
 *
 * Exit status: 0 passed, 1 failed, 77 skipped because no container engine can run here (never a silent pass).
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createRedis, closeRedis } from '../src/redis/connection';
import { ensureRedis, redisAnswers } from '../src/redis/local-server';
import type { LocalRedis } from '../src/redis/local-server';
import { readPackageVersion } from '../src/shared/package-version';
import { callApi, eventually, freePort } from '../test/helpers/processes';
import { deleteByPattern } from '../test/helpers/redis';
import { probeBuildContext } from './container/context-probe';
import { detectEngine, engineCommand, imageExists } from './container/engine';
import type { Engine } from './container/engine';

const ROOT = path.resolve(__dirname, '..');
const IMAGE = 'localhost/convergence-data-pipeline:smoke';
const EXIT_SKIPPED = 77;
const STOP_GRACE_SECONDS = 45;
const POLL_MS = 500;

let stepNumber = 0;

/** Runs one step, printing its title, its one-line outcome and how long it took; a throw fails the smoke test. */
async function checkStep(title: string, body: () => Promise<string>): Promise<void> {
  stepNumber += 1;
  process.stdout.write(`\n[${stepNumber}] ${title}\n`);
  const started = performance.now();
  const outcome = await body();
  process.stdout.write(`    ✓ ${outcome} (${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
}

async function main(): Promise<number> {
  const detected = detectEngine(process.env);
  if (!detected.engine) {
    process.stdout.write(
      `\n!!! smoke:container SKIPPED: no container engine can run here.\n${detected.tried.map((t) => `!!!   ${t}\n`).join('')}` +
        `!!! Install podman (apt-get install podman runc) or start a docker daemon; nothing was tested.\n\n`,
    );
    return EXIT_SKIPPED;
  }
  const engine = detected.engine;
  const id = randomBytes(4).toString('hex');
  const name = `cv-smoke-${id}`;
  const prefix = `smoke${id}`;
  const tenant = `smoke_${id}`;
  const adminKey = `smoke_admin_${randomBytes(16).toString('hex')}`;
  const redisUrl = process.env.SMOKE_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redisDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-smoke-redis-'));
  // Filled in as the steps go, read by the cleanup whatever step failed.
  const held: Held = { engine, name, prefix, redisUrl, redisDir, localRedis: null, started: false };
  process.once('SIGINT', () => void cleanUp(held).finally(() => process.exit(130)));
  process.stdout.write(
    `smoke:container — ${engine.kind} ${engine.version} (${engine.bin}); global flags: ${engine.globalArgs.join(' ') || 'none'}; ` +
      `run flags: ${engine.runArgs.join(' ') || 'none'}\n`,
  );

  try {
    await checkStep('Redis for the container (host network)', async () => {
      held.localRedis = await ensureRedis({ target: { kind: 'standalone', url: redisUrl }, autostart: true, dataDir: redisDir });
      return `${redisUrl}${held.localRedis.process ? ' (private redis-server started for this run)' : ''}, key prefix ${prefix}`;
    });

    const baseImage = process.env.NODE_IMAGE ?? `localhost/convergence-node-base:host-${process.versions.node}`;
    await checkStep('base image', async () => {
      if (process.env.NODE_IMAGE) return `${baseImage} (NODE_IMAGE)`;
      if (await imageExists(engine, baseImage)) return `${baseImage} (stand-in from this host's node, cached)`;
      const made = spawnSync(path.join(ROOT, 'scripts/container/node-base-image.sh'), [baseImage], {
        encoding: 'utf8',
        env: { ...process.env, ENGINE: engine.bin, ENGINE_GLOBAL_ARGS: engine.globalArgs.join(' '), NODE_BIN: process.execPath },
      });
      if (made.status !== 0) throw new Error(`node-base-image.sh failed:\n${made.stderr}`);
      return made.stdout.trim();
    });

    await checkStep('build context as the engine sees it (.dockerignore)', async () => {
      const probe = await probeBuildContext(engine, ROOT, baseImage);
      if (probe.leaked.length > 0) throw new Error(`reached the engine but must stay out: ${probe.leaked.join(', ')}`);
      if (probe.missing.length > 0) throw new Error(`Dockerfile sources left out: ${probe.missing.join(', ')}`);
      return `${probe.planted} canaries planted: every must-stay-out path left out, every Dockerfile source carried`;
    });

    await checkStep('build the image', async () => {
      const built = await engineCommand(engine, ['build', ...engine.buildArgs, '--build-arg', `NODE_IMAGE=${baseImage}`, '-t', IMAGE, ROOT]);
      if (built.code !== 0) throw new Error(`build failed:\n${built.stdout.slice(-3000)}${built.stderr.slice(-3000)}`);
      const healthcheck = await engineCommand(engine, ['image', 'inspect', '--format', '{{json .Config.Healthcheck}}', IMAGE], { quiet: true });
      return `${IMAGE}; HEALTHCHECK ${healthcheck.stdout.trim()}`;
    });

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    await checkStep('run it with ROLE=all on the embedded defaults', async () => {
      const env = { ROLE: 'all', HOST: '127.0.0.1', PORT: String(port), REDIS_URL: redisUrl, REDIS_AUTOSTART: 'false', REDIS_KEY_PREFIX: prefix };
      const envArgs = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
      // ADMIN_API_KEY travels in the engine's environment (`-e NAME` without a value), never on a command line.
      const run = await engineCommand(engine, ['run', '-d', '--name', name, '--network', 'host', ...engine.runArgs, ...envArgs, '-e', 'ADMIN_API_KEY', IMAGE], {
        env: { ...process.env, ADMIN_API_KEY: adminKey },
      });
      if (run.code !== 0) throw new Error(`run failed: ${run.stderr.trim()}`);
      held.started = true;
      await eventually('the container to answer /health/ready', async () => {
        const state = await engineCommand(engine, ['inspect', '--format', '{{.State.Status}}', name], { quiet: true });
        if (state.stdout.trim() !== 'running') throw new Error(`container is ${state.stdout.trim()}`);
        return (await callApi(base, 'GET', '/health/ready').catch(() => null))?.status === 200 ? true : undefined;
      }, 90_000, POLL_MS);
      return `${name} ready on ${base}`;
    });

    await checkStep('the image HEALTHCHECK, run by the engine', async () => {
      if (engine.kind === 'podman') {
        // Podman schedules healthchecks with systemd timers, absent here; `healthcheck run` runs it on demand.
        const hc = await engineCommand(engine, ['healthcheck', 'run', name]);
        if (hc.code !== 0) throw new Error(`healthcheck: ${hc.stdout.trim()} ${hc.stderr.trim()}`);
      } else {
        await eventually('docker to report healthy', async () =>
          (await engineCommand(engine, ['inspect', '--format', '{{.State.Health.Status}}', name], { quiet: true })).stdout.trim() === 'healthy' ? true : undefined,
        60_000, POLL_MS);
      }
      const log = await engineCommand(engine, ['inspect', '--format', '{{json .State.Health}}', name], { quiet: true });
      const entries = (JSON.parse(log.stdout) as { Log?: { Output?: string }[] } | null)?.Log ?? [];
      return `healthy — probe said: ${entries.at(-1)?.Output?.trim() ?? '(no log)'}`;
    });

    await checkStep('version and contents of the compiled build', async () => {
      const expected = readPackageVersion(path.join(ROOT, 'package.json'));
      const health = await callApi(base, 'GET', '/health');
      if (health.body['version'] !== expected) throw new Error(`/health says version ${String(health.body['version'])}, package.json ${expected}`);
      const ls = await engineCommand(engine, ['exec', name, 'node', '-e', "console.log(JSON.stringify(require('fs').readdirSync('/app').sort()))"]);
      const app = JSON.parse(ls.stdout) as string[];
      if (JSON.stringify(app) !== JSON.stringify(['configs', 'dist', 'node_modules', 'package.json'])) throw new Error(`/app holds ${app.join(', ')}`);
      return `/health version ${expected} (package.json); /app = ${app.join(', ')}`;
    });

    let apiKey = '';
    await checkStep('onboard a tenant through HTTP', async () => {
      const res = await callApi(base, 'POST', '/api/v1/tenants/onboard', {
        adminKey,
        body: { tenant_id: tenant, company_name: 'Smoke Test Inc', admin_email: 'admin@smoke.example', subscription_plan: 'PROFESSIONAL' },
      });
      if (res.status !== 201) throw new Error(`onboarding answered ${res.status} ${JSON.stringify(res.body)}`);
      apiKey = String(res.body['api_key']);
      return `201 ${tenant}, dataset_created=${String(res.body['dataset_created'])}`;
    });

    await checkStep('run gcp/cost/dryrun to COMPLETED', async () => {
      const auth = { apiKey, headers: { 'X-User-ID': 'smoke' } };
      const run = await callApi(base, 'POST', `/api/v1/pipelines/run/${tenant}/gcp/cost/dryrun`, auth);
      if (run.status !== 202) throw new Error(`trigger answered ${run.status} ${JSON.stringify(run.body)}`);
      const runId = String(run.body['pipeline_logging_id']);
      const status = await eventually('the run to end', async () => {
        const s = String((await callApi(base, 'GET', `/api/v1/pipelines/runs/${runId}`, auth)).body['status']);
        return ['COMPLETED', 'FAILED', 'CANCELLED'].includes(s) ? s : undefined;
      }, 60_000, POLL_MS);
      if (status !== 'COMPLETED') throw new Error(`run ${runId} ended ${status}`);
      const sql = `SELECT check_type, check_name, overall_status FROM \`${tenant}.x_meta_dq_results\` WHERE pipeline_logging_id = '${runId}'`;
      const row = await eventually('its validation row in the warehouse', async () => {
        const q = await callApi(base, 'POST', '/api/v1/admin/warehouse/query', { adminKey, body: { sql } });
        return (q.body['rows'] as unknown[] | undefined)?.[0];
      }, 30_000, POLL_MS);
      return `202 → ${runId} COMPLETED; x_meta_dq_results: ${JSON.stringify(row)}`;
    });

    await checkStep('stop it with SIGTERM and check it stopped cleanly', async () => {
      await engineCommand(engine, ['stop', '-t', String(STOP_GRACE_SECONDS), name]);
      const exit = (await engineCommand(engine, ['inspect', '--format', '{{.State.ExitCode}}', name], { quiet: true })).stdout.trim();
      const messages = (await engineCommand(engine, ['logs', name], { quiet: true })).stdout
        .split('\n')
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as { msg?: string; signal?: string }];
          } catch {
            return [];
          }
        });
      const sigterm = messages.some((m) => m.msg === 'shutting down' && m.signal === 'SIGTERM');
      const stopped = messages.at(-1)?.msg === 'stopped';
      if (exit !== '0' || !sigterm || !stopped) throw new Error(`exit ${exit}, SIGTERM logged: ${sigterm}, last log line "stopped": ${stopped}`);
      return `exit code 0; log: "shutting down" (SIGTERM) … "stopped"`;
    });
    process.stdout.write('\nsmoke:container PASSED\n');
    return 0;
  } catch (err) {
    process.stdout.write(`\nsmoke:container FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
    if (held.started) {
      const logs = await engineCommand(engine, ['logs', '--tail', '40', name], { quiet: true });
      process.stdout.write(`--- last container log lines ---\n${logs.stdout}${logs.stderr}\n`);
    }
    return 1;
  } finally {
    await cleanUp(held);
  }
}

interface Held {
  engine: Engine;
  name: string;
  prefix: string;
  redisUrl: string;
  redisDir: string;
  localRedis: LocalRedis | null;
  started: boolean;
}

/** Leaves nothing running: the container, this run's Redis keys, a private redis-server; the built image stays. */
async function cleanUp(held: Held): Promise<void> {
  const { engine, name, prefix, redisUrl } = held;
  process.stdout.write('\ncleanup\n');
  if (held.started) await engineCommand(engine, ['rm', '-f', name]);
  const left = await engineCommand(engine, ['ps', '-a', '--filter', `name=${name}`, '--format', '{{.Names}}'], { quiet: true });
  process.stdout.write(`    containers left: ${left.stdout.trim() || 'none'}; image ${IMAGE} stays cached for the next build\n`);
  if (await redisAnswers(redisUrl)) {
    const redis = createRedis(redisUrl);
    await deleteByPattern(redis, `${prefix}:*`);
    await deleteByPattern(redis, `{${prefix}:*`);
    let remaining = 0;
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
      remaining += found.length;
      cursor = next;
    } while (cursor !== '0');
    await closeRedis(redis);
    process.stdout.write(`    Redis keys under ${prefix} deleted (${remaining} left)\n`);
  }
  await held.localRedis?.stop();
  fs.rmSync(held.redisDir, { recursive: true, force: true });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
