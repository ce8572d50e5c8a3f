/**
 * A second (and third) process for the admission contention test: its own Redis connection and its
 * own Admission, driven over stdin/stdout with one JSON object per line.
 *
 *   in:  {"cmd":"admit","count":100}          out: {"admitted":["<run id>",...],"rejected":{"<code>":n}}
 *   in:  {"cmd":"exit"}                        (closes Redis and exits)
 *
 * Env: REDIS_URL or REDIS_CLUSTER_NODES (read as the product reads them), KEY_PREFIX, TENANT_ID,
 * NOW_MS (the fixed instant both processes admit at).
 */
import readline from 'node:readline';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../src/config';
import { createRedis, closeRedis, redisTargetOf } from '../../src/redis/connection';
import { RedisKeys } from '../../src/redis/keys';
import { ManualClock } from '../../src/shared/clock';
import { isAppError } from '../../src/shared/errors';
import { Admission } from '../../src/tenants/admission';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`admission-child: ${name} is not set`);
  return value;
};

const redis = createRedis(redisTargetOf(loadConfig(process.env).redis));
const admission = new Admission({ redis, keys: new RedisKeys(env('KEY_PREFIX')), clock: new ManualClock(Number(env('NOW_MS'))) });
const tenantId = env('TENANT_ID');

async function admitMany(count: number): Promise<{ admitted: string[]; rejected: Record<string, number> }> {
  const admitted: string[] = [];
  const rejected: Record<string, number> = {};
  await Promise.all(
    Array.from({ length: count }, async () => {
      const runId = randomUUID();
      try {
        const result = await admission.admit({ tenantId, runId, leaseMs: 60_000 });
        if (result.outcome === 'admitted') admitted.push(runId);
        else rejected[result.outcome] = (rejected[result.outcome] ?? 0) + 1;
      } catch (err) {
        const code = isAppError(err) ? err.code : String(err);
        rejected[code] = (rejected[code] ?? 0) + 1;
      }
    }),
  );
  return { admitted, rejected };
}

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const msg = JSON.parse(line) as { cmd: string; count?: number };
  if (msg.cmd === 'exit') {
    lines.close();
    void closeRedis(redis).then(() => process.exit(0));
    return;
  }
  void admitMany(msg.count ?? 0).then((out) => process.stdout.write(`${JSON.stringify(out)}\n`));
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
