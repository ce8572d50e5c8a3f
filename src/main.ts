/**
 * Composition root and process entry: reads the config, makes sure Redis answers (starting a private
 * one on the embedded default), builds the system and starts the role(s). `tsx src/main.ts [all|api|worker|scheduler]`.
 */
import 'dotenv/config';
import { ConfigError, loadConfig, ROLES } from './config';
import type { Role } from './config';
import { createLogger } from './shared/logger';
import { redisTargetOf } from './redis/connection';
import { ensureRedis, RedisUnavailableError } from './redis/local-server';
import { createSystem } from './system/system';
import type { System } from './system/system';

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
  const logger = createLogger({ level: config.logLevel });
  const localRedis = await ensureRedis({ target: redisTargetOf(config.redis), autostart: config.redis.autostart, dataDir: config.dataDir }).catch((err: unknown) => {
    if (err instanceof RedisUnavailableError) {
      logger.fatal(err.message);
      process.exit(69);
    }
    throw err;
  });
  if (localRedis.process) logger.info({ url: localRedis.url, dir: `${config.dataDir}/redis` }, 'started a private redis-server');

  let system: System;
  try {
    system = await createSystem(config, { logger, version: process.env.npm_package_version ?? '0.1.0' });
    await system.start(config.role);
  } catch (err) {
    logger.fatal({ err: err instanceof Error ? err.message : String(err) }, 'could not start');
    await localRedis.stop();
    process.exit(1);
  }
  logger.info({ role: config.role, warehouse: config.warehouse.kind, key_manager: config.keyManager.kind }, 'convergence started');

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    try {
      await system.close();
      await localRedis.stop();
      logger.info('stopped');
      process.exit(0);
    } catch (err) {
      logger.error({ err: err instanceof Error ? err.message : String(err) }, 'unclean shutdown');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

void main();
