import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ManualClock } from '../../src/shared/clock';
import { silentLogger } from '../../src/shared/logger';
import { LocalKeyring } from '../../src/security/local-keyring';
import { loadPlans } from '../../src/tenants/plans';
import { bootstrapCentral } from '../../src/tenants/bootstrap';
import type { TenantDeps } from '../../src/tenants/tenant-deps';
import type { Warehouse } from '../../src/warehouse/types';
import { createTestRedis } from './redis';
import type { TestRedis } from './redis';
import { createTestDuckDb } from './warehouse';
import type { TestWarehouse } from './warehouse';

export const CONFIGS_DIR = path.resolve(__dirname, '../../configs');

/** One bootstrapped DuckDB warehouse and keyring, shared by the tests of a file (tenant ids differ per test). */
export interface SharedTenantEnv {
  warehouse: Warehouse;
  keyring: LocalKeyring;
  cleanup(): Promise<void>;
}

export async function createSharedTenantEnv(): Promise<SharedTenantEnv> {
  const wh: TestWarehouse = await createTestDuckDb();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cv-keyring-'));
  const keyring = await LocalKeyring.open(path.join(dir, 'keyring.json'));
  await bootstrapCentral({ warehouse: wh.warehouse });
  return {
    warehouse: wh.warehouse,
    keyring,
    async cleanup() {
      await keyring.close();
      await wh.cleanup();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Per-test deps: the shared warehouse plus a private Redis namespace and a hand-moved clock. */
export async function createTenantDeps(env: SharedTenantEnv, now = new Date()): Promise<{ deps: TenantDeps; clock: ManualClock; testRedis: TestRedis }> {
  const testRedis = await createTestRedis();
  const clock = new ManualClock(now);
  const deps: TenantDeps = {
    warehouse: env.warehouse,
    tableScope: { kind: env.warehouse.kind },
    redis: testRedis.redis,
    keys: testRedis.keys,
    keyManager: env.keyring,
    plans: loadPlans(CONFIGS_DIR),
    clock,
    logger: silentLogger(),
  };
  return { deps, clock, testRedis };
}

let counter = 0;
/** A tenant id no other test of the run uses. */
export const uniqueTenantId = (base = 'acme'): string => `${base}_${process.pid}_${Date.now().toString(36)}_${counter++}`;
