import type { PendingWork } from '../shared/pending-work';
import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import type { KeyManager } from '../security/key-manager';
import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import type { TableScope } from '../warehouse/tenant-table';
import type { Warehouse } from '../warehouse/types';
import type { AuthChanges } from './auth-invalidation';
import type { PlanCatalog } from './plans';

/** What the tenant services (onboarding, API keys, tenant admin) need; built once in main. */
export interface TenantDeps {
  warehouse: Warehouse;
  /** Where tenant-supplied table references may point (warehouse kind, platform project). */
  tableScope: TableScope;
  redis: RedisClient;
  keys: RedisKeys;
  keyManager: KeyManager;
  plans: PlanCatalog;
  clock: Clock;
  logger: Logger;
  /** Tells every API process's auth cache about a key or tenant change; absent where nothing caches. */
  authChanges?: AuthChanges;
  /** Work a request starts and does not wait for (caching a tenant's API keys), drained when the process stops. */
  background?: PendingWork;
}
