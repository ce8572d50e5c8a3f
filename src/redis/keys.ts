/**
 * Every Redis key name of the product comes from here. Keys of one tenant share the hash tag
 * `{t:<tenantId>}`, so one cluster slot holds all of them: the Lua scripts and MULTIs over a
 * tenant's keys (admission, its run records, its schedules) run on Redis Cluster. Global indexes
 * (due schedules, the deferred queue, the log outbox) live in other slots; code that touches both
 * does so in single-slot steps (see the callers' comments). BullMQ's own keys live under `bullPrefix`.
 */
export class RedisKeys {
  readonly bullPrefix: string;

  constructor(readonly prefix: string) {
    // Hash-tagged so every BullMQ key of one queue lands in one cluster slot.
    this.bullPrefix = `{${prefix}:bull}`;
  }

  private tenant(tenantId: string, suffix: string): string {
    return `${this.prefix}:{t:${tenantId}}:${suffix}`;
  }

  // --- tenants, auth ---------------------------------------------------------------------
  /** Hash: the tenant's profile and limits as the trigger path needs them (status, plan, limits). */
  tenantProfile(tenantId: string): string {
    return this.tenant(tenantId, 'profile');
  }
  /** Hash: api-key sha256 → {tenant_id, key_id, active, expires_at}; the auth cache. */
  apiKey(keyHash: string): string {
    return `${this.prefix}:apikey:${keyHash}`;
  }
  /**
   * String, with a TTL shorter than the key cache's: while it exists, every API key of the tenant has its entry under
   * apiKey(hash), so a hash with no entry is no key of this tenant (api-key-service.ts, loadTenantKeys).
   */
  apiKeysComplete(tenantId: string): string {
    return this.tenant(tenantId, 'apikeys:complete');
  }
  /**
   * String with a short TTL: the warehouse says no such tenant (or only its offboarded tombstone), so an API key
   * claiming it is refused from Redis alone (api-key-service.ts). Every profile write deletes it (writeProfileCache).
   */
  tenantAbsent(tenantId: string): string {
    return this.tenant(tenantId, 'absent');
  }
  /** Lock: one process loads a tenant's keys into the cache at a time. */
  apiKeysLoading(tenantId: string): string {
    return this.tenant(tenantId, 'apikeys:loading');
  }
  /** Lock: one rotation of an API key at a time, so one key cannot be rotated into two permanent keys. */
  apiKeyRotation(tenantId: string, keyId: string): string {
    return this.tenant(tenantId, `apikeys:rotating:${keyId}`);
  }
  /** Pub/sub channel: `k:<key hash>` or `t:<tenant id>` changed, so every API process drops what it remembers (auth-cache.ts). */
  authChangesChannel(): string {
    return `${this.prefix}:auth:changes`;
  }
  /** Set of every onboarded tenant id (maintenance jobs iterate it). */
  tenantIndex(): string {
    return `${this.prefix}:tenants`;
  }

  // --- quotas and admission ----------------------------------------------------------------
  /** Sorted set: run id → lease deadline (ms). The running set; never a counter. */
  running(tenantId: string): string {
    return this.tenant(tenantId, 'running');
  }
  /** Hash of one UTC day's counters: run, succeeded, failed. */
  dailyUsage(tenantId: string, day: string): string {
    return this.tenant(tenantId, `usage:d:${day}`);
  }
  /** String counter of one UTC month's admitted runs. */
  monthlyUsage(tenantId: string, month: string): string {
    return this.tenant(tenantId, `usage:m:${month}`);
  }
  /** Sorted set: user id → last seen (ms). */
  teamMembers(tenantId: string): string {
    return this.tenant(tenantId, 'team');
  }
  /** Set of providers the tenant runs or schedules. */
  providers(tenantId: string): string {
    return this.tenant(tenantId, 'providers');
  }
  /** Set of runs whose admission was counted for a day (so refunds and outcomes count once). */
  admittedRuns(tenantId: string, day: string): string {
    return this.tenant(tenantId, `admitted:${day}`);
  }
  /**
   * Sorted set: run id → dispatch priority, of the tenant's admitted runs no worker has picked up yet (fair
   * dispatch: admit.lua adds, run-start.lua removes; members no longer in `running` are dropped at admission).
   */
  dispatchBacklog(tenantId: string): string {
    return this.tenant(tenantId, 'dispatch:backlog');
  }
  /** Set of tenants whose usage changed since the last warehouse refresh. */
  usageDirty(): string {
    return `${this.prefix}:usage:dirty`;
  }
  /** String marker: the UTC day's final usage rows were written ('closing' while in progress). */
  usageDayClosed(day: string): string {
    return `${this.prefix}:usage:closed:${day}`;
  }

  // --- warehouse cost guardrails (bytes-reserve.lua, bytes-settle.lua) ---------------------
  /** Hash of one UTC day's BigQuery bytes: billed (settled), reserved (granted to jobs not settled yet). */
  bytesDaily(tenantId: string, day: string): string {
    return this.tenant(tenantId, `bytes:d:${day}`);
  }
  /** Hash: reservation id → `<day>|<granted bytes>` of query jobs not settled yet. */
  bytesReservations(tenantId: string): string {
    return this.tenant(tenantId, 'bytes:res');
  }
  /** Sorted set: reservation id → lease deadline (ms); an expired lease is counted as spent (its whole grant) by the next reserve. */
  bytesReservationLeases(tenantId: string): string {
    return this.tenant(tenantId, 'bytes:lease');
  }

  // --- runs ------------------------------------------------------------------------------
  /** Hash: live state of one run (tenant, pipeline, status, progress, steps JSON, timings); in the tenant's slot. */
  run(tenantId: string, runId: string): string {
    return this.tenant(tenantId, `run:${runId}`);
  }
  /** String: run id of the in-flight run with the same pipeline + parameters fingerprint. */
  inflight(tenantId: string, fingerprint: string): string {
    return this.tenant(tenantId, `inflight:${fingerprint}`);
  }
  /** String: the response of a trigger made with this Idempotency-Key. */
  idempotency(tenantId: string, key: string): string {
    return this.tenant(tenantId, `idem:${key}`);
  }
  /** Sorted set: `<tenantId>|<runId>` → end time (ms) of finished runs whose terminal warehouse row is not confirmed yet. */
  logsUnconfirmed(): string {
    return `${this.prefix}:logs:unconfirmed`;
  }
  /** Pub/sub channel on which cancellations are announced to every worker process. */
  cancelChannel(): string {
    return `${this.prefix}:runs:cancel`;
  }
  /** Sorted set: run id → created (ms), per tenant, for listing recent runs. */
  tenantRuns(tenantId: string): string {
    return this.tenant(tenantId, 'runs');
  }

  // --- scheduler -------------------------------------------------------------------------
  /** Sorted set: `<tenantId>:<configId>` → next fire time (ms). The due index. */
  scheduleDue(): string {
    return `${this.prefix}:sched:due`;
  }
  /** Hash: one schedule config as the tick needs it; in the tenant's slot. */
  schedule(tenantId: string, configId: string): string {
    return this.tenant(tenantId, `sched:cfg:${configId}`);
  }
  /** Set of one tenant's schedule config ids. */
  tenantSchedules(tenantId: string): string {
    return this.tenant(tenantId, 'schedules');
  }
  /** Sorted set: deferred run entries waiting for a concurrency slot, by enqueue time. */
  deferredQueue(): string {
    return `${this.prefix}:sched:deferred`;
  }
  /**
   * Sorted set: `<tenantId>:<configId>|<fireMs>` → lease deadline (ms); fires claimed by a tick and not yet
   * settled, so a tick that dies mid-way is finished by a later one. Its hash tag is the full
   * name of `scheduleDue()`, which puts both keys in one cluster slot for the claim script.
   */
  scheduleInflight(): string {
    return `{${this.scheduleDue()}}:inflight`;
  }
  /**
   * Hash: deferred run id → entry JSON (the request to retry and why it waits). Tagged with the full
   * name of `deferredQueue()`, so the queue and its entries change together in one MULTI.
   */
  deferredEntries(): string {
    return `{${this.deferredQueue()}}:entries`;
  }
  /** Sorted set: one tenant's deferred run ids by enqueue time (processing one tenant is O(its queue)). */
  tenantDeferred(tenantId: string): string {
    return this.tenant(tenantId, 'deferred');
  }
  /** Hash of scheduler counters for one UTC day (completed, failed, total duration). */
  schedulerDaily(day: string): string {
    return `${this.prefix}:stats:d:${day}`;
  }
  /** String lock held while a maintenance routine runs. */
  lock(name: string): string {
    return `${this.prefix}:lock:${name}`;
  }

  /** String marker: a one-off migration of the key layout ran (see src/system/migrate-redis-keys.ts). */
  migrationDone(name: string): string {
    return `${this.prefix}:migrated:${name}`;
  }

  // --- backfills and fan-outs (src/batches/) ------------------------------------------------
  /** Hash: one backfill's request and status fields, plus `d:<YYYY-MM-DD>` → `<state>|<run id>` per date. */
  backfill(tenantId: string, backfillId: string): string {
    return this.tenant(tenantId, `bf:${backfillId}`);
  }
  /** String lock held by the one process dispatching this backfill right now. */
  backfillLock(tenantId: string, backfillId: string): string {
    return this.tenant(tenantId, `bf:${backfillId}:lock`);
  }
  /** String flag: a dispatch was asked for while the lock was held, so its holder makes another pass. */
  backfillAgain(tenantId: string, backfillId: string): string {
    return this.tenant(tenantId, `bf:${backfillId}:again`);
  }
  /** Set of the tenant's ACTIVE backfill ids (a finished run of the tenant wakes them). */
  tenantBackfills(tenantId: string): string {
    return this.tenant(tenantId, 'backfills');
  }
  /** String: id of the ACTIVE backfill with this (template, parameters, range) hash. */
  backfillDedupe(tenantId: string, requestHash: string): string {
    return this.tenant(tenantId, `bf:req:${requestHash}`);
  }
  /** Sorted set: `b|<tenantId>|<backfillId>` → when its dispatcher should look again (ms). Global index of active backfills. */
  batchDue(): string {
    return `${this.prefix}:batch:due`;
  }
  /** Hash: one fan-out's request fields, plus `t:<tenantId>` → that tenant's outcome JSON. Its id derives from its request. */
  fanout(fanoutId: string): string {
    return `${this.prefix}:{fo:${fanoutId}}:state`;
  }
  /** SCAN pattern of every fan-out's state hash (offboarding removes a tenant's `t:<id>` fields). */
  fanoutPattern(): string {
    return `${this.prefix}:{fo:*}:state`;
  }

  // --- rate limiting ---------------------------------------------------------------------
  /** Prefix handed to rate-limiter-flexible for one limiter. */
  rateLimit(name: string): string {
    return `${this.prefix}:rl:${name}`;
  }
  /**
   * String: one tenant's request counter of one limit (rate-limit.lua), tenant-tagged so the run and
   * all-routes limits are counted by one script call. Replaced `${rateLimit(name)}:tenant:<id>`; those
   * lived one window (60 s) and are no longer read: no migration.
   */
  rateLimitTenant(tenantId: string, name: string): string {
    return this.tenant(tenantId, `rl:${name}`);
  }

  // --- audit log (issue 13.3) --------------------------------------------------------------
  /** List of audit rows (JSON) not yet in the warehouse; global (rows of every tenant), drained by AuditLog.flush. */
  auditOutbox(): string {
    return `${this.prefix}:audit:outbox`;
  }

  // --- offboarding: patterns that find one tenant's keys (every family is listed in src/offboarding/redis-purge.ts) ---
  /** SCAN pattern of every tenant-tagged key of one tenant (all in its one cluster slot). */
  tenantKeyPattern(tenantId: string): string {
    return this.tenant(tenantId, '*');
  }
  /** SCAN pattern of the API-key cache entries (`apiKey(hash)`); their `tenant_id` field says whose they are. */
  apiKeyPattern(): string {
    return `${this.prefix}:apikey:*`;
  }
  /** SCAN pattern of one tenant's rate-limiter counters (`rateLimit(name)` + `:tenant:<id>`, see api/middleware/rate-limit.ts). */
  rateLimitTenantPattern(tenantId: string): string {
    return `${this.prefix}:rl:*:tenant:${tenantId}`;
  }
  /** SCAN pattern of the scheduler's daily stats hashes (`schedulerDaily(day)`; their `run:<id>` fields name runs). */
  schedulerDailyPattern(): string {
    return `${this.prefix}:stats:d:*`;
  }
  /** String lock held while one tenant is offboarded (not tenant-tagged: it outlives the purge of the tenant's keys). */
  offboardLock(tenantId: string): string {
    return this.lock(`offboard:${tenantId}`);
  }

  // --- webhooks (issue 13.1) ---------------------------------------------------------------
  /** Hash: webhook id → endpoint JSON (encrypted secrets), plus the `~loaded` marker; the hot "who wants event E". */
  webhooks(tenantId: string): string {
    return this.tenant(tenantId, 'wh:endpoints');
  }
  /** String counter: consecutive deliveries to one endpoint whose final attempt failed. */
  webhookFailures(tenantId: string, webhookId: string): string {
    return this.tenant(tenantId, `wh:fails:${webhookId}`);
  }
  /** List, newest first: one endpoint's delivery attempts (JSON), capped. */
  webhookAttempts(tenantId: string, webhookId: string): string {
    return this.tenant(tenantId, `wh:attempts:${webhookId}`);
  }
  /** Hash: one delivery (endpoint, event type, body, attempts so far), kept for redelivery; expires. */
  webhookDelivery(tenantId: string, deliveryId: string): string {
    return this.tenant(tenantId, `wh:dlv:${deliveryId}`);
  }
  /** Sorted set: the tenant's delivery ids by creation (ms), so every delivery key can be found and dropped. */
  webhookDeliveryIndex(tenantId: string): string {
    return this.tenant(tenantId, 'wh:dlvidx');
  }
  /** String marker (SET NX, expires): quota.exhausted was announced for this period (`d:<day>` / `m:<month>`). */
  webhookQuotaNotified(tenantId: string, period: string): string {
    return this.tenant(tenantId, `wh:quota:${period}`);
  }
  /** String lock: serialises every change of the tenant's endpoints (API, worker, offboarding) across processes. */
  webhookLock(tenantId: string): string {
    return this.tenant(tenantId, 'wh:lock');
  }
  /** Sorted set: delivery job id → end of its lease (ms), the attempts in flight to one endpoint (webhook-slot-take.lua). */
  webhookInFlight(tenantId: string, webhookId: string): string {
    return this.tenant(tenantId, `wh:inflight:${webhookId}`);
  }
  /** Sorted set: delivery job id → end of its lease (ms), the attempts in flight to any endpoint of the tenant. */
  webhookTenantInFlight(tenantId: string): string {
    return this.tenant(tenantId, 'wh:inflight');
  }
  /** Sorted set: delivery job id → its creation (ms), deliveries parked while their endpoint or tenant had no free slot. */
  webhookParked(tenantId: string): string {
    return this.tenant(tenantId, 'wh:parked');
  }

  // --- names used before keys were tenant-tagged; read once by the migration, never written ---
  legacyRunPattern(): string {
    return `${this.prefix}:run:*`;
  }
  legacySchedulePattern(): string {
    return `${this.prefix}:sched:cfg:*`;
  }
  legacyDeferredEntries(): string {
    return `${this.prefix}:sched:deferred:entries`;
  }
}
