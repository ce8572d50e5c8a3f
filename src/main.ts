/**
 * Composition root and process entry: reads the config, makes sure Redis answers (starting a private
 * one on the embedded default), builds the system and starts the role(s). `node --import tsx src/main.ts [all|api|worker|scheduler]`
 * (`npm start` execs it, so npm's child is this process and the signals npm forwards reach it).
 */
import 'dotenv/config';
import path from 'node:path';
import { ConfigError, loadConfig, ROLES } from './config';
import type { Role } from './config';
import { createLogger } from './shared/logger';
import { readPackageVersion } from './shared/package-version';
import { startHealthServer } from './observability/health-server';
import type { HealthServer } from './observability/health-server';
import { describeTarget, redisTargetOf } from './redis/connection';
import { ensureRedis, RedisUnavailableError } from './redis/local-server';
import { createSystem } from './system/system';
import type { System } from './system/system';

/** What closing connections and flushing logs may take after the runs' own SHUTDOWN_TIMEOUT_MS. */
const FORCED_EXIT_MARGIN_MS = 15_000;

async function main(): Promise<void> {
  const roleArg = process.argv[2];
  if (roleArg !== undefined && !ROLES.includes(roleArg as Role)) {
    process.stderr.write(`Unknown role "${roleArg}". Use one of: ${ROLES.join(', ')}\n`);
    process.exit(2);
  }
  let config;
  try {
    config = loadConfig(process.env, roleArg);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\nVariables: ${err.variables.join(', ')} (see .env.example)\n`);
      process.exit(78);
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel, bufferBytes: config.logBufferBytes, flushIntervalMs: config.logFlushIntervalMs });
  // Handlers go in before anything opens (Redis, the DuckDB lock, the port): a signal during boot is
  // served once the boot is done, instead of killing the process with its lock file left behind.
  let booted: () => void = () => undefined;
  const boot = new Promise<void>((resolve) => (booted = resolve));
  let stop: (signal: string) => Promise<void> = async () => undefined;
  let signalled = false;
  const onSignal = (signal: string): void => {
    if (!signalled) {
      signalled = true;
      // Runs get SHUTDOWN_TIMEOUT_MS; a boot or connections that then still hang must not keep the process up.
      setTimeout(() => {
        logger.error('shutdown did not finish in time');
        process.exit(1);
      }, config.shutdownTimeoutMs + FORCED_EXIT_MARGIN_MS).unref();
    }
    void boot.then(() => stop(signal));
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  const localRedis = await ensureRedis({ target: redisTargetOf(config.redis), autostart: config.redis.autostart, dataDir: config.dataDir }).catch((err: unknown) => {
    if (err instanceof RedisUnavailableError) {
      logger.fatal(err.message);
      process.exit(69);
    }
    throw err;
  });
  if (localRedis.process) logger.info({ url: localRedis.url, dir: `${config.dataDir}/redis`, pid: localRedis.process.pid }, 'started a private redis-server');
  else logger.info({ redis: describeTarget(redisTargetOf(config.redis)) }, 'using the Redis that answers');

  let system: System;
  let health: HealthServer | null = null;
  try {
    // package.json sits one level above both src/main.ts and dist/main.js (the image copies it there).
    system = await createSystem(config, { logger, version: readPackageVersion(path.join(__dirname, '..', 'package.json')) });
    await system.start(config.role);
    // A worker or scheduler has no HTTP server; its orchestrator probes this listener instead.
    if ((config.role === 'worker' || config.role === 'scheduler') && config.healthPort !== undefined) {
      const { readiness, isShuttingDown } = system;
      health = await startHealthServer({ host: config.host, port: config.healthPort, readiness, isShuttingDown });
      logger.info({ port: health.port }, 'health listener started');
    }
  } catch (err) {
    logger.fatal({ err: err instanceof Error ? err.message : String(err) }, 'could not start');
    await localRedis.stop();
    process.exit(1);
  }
  logger.info({ role: config.role, warehouse: config.warehouse.kind, key_manager: config.keyManager.kind }, 'convergence started');
  // Written now, not with the next batch of lines: orchestrators and operators wait for this one.
  logger.flush();

  let stopping = false;
  stop = async (signal) => {
    // npm forwards a signal to this process and a group signal reaches it directly too: stop once.
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    try {
      // The health listener stays up while the system drains, answering 503 shutting_down.
      await system.close();
      await health?.close();
      await localRedis.stop();
      logger.info('stopped');
      process.exit(0);
    } catch (err) {
      logger.error({ err: err instanceof Error ? err.message : String(err) }, 'unclean shutdown');
      process.exit(1);
    }
  };
  booted();
}

void main();
