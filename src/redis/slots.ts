import calculateSlot from 'cluster-key-slot';

/** Redis Cluster's hash slot of a key (honours a `{hash tag}`), the same function ioredis routes by. */
export const slotOf = (key: string): number => calculateSlot(key);

/** Thrown for a script or transaction whose keys span slots: Redis Cluster would refuse it with CROSSSLOT. */
export class CrossSlotError extends Error {
  constructor(what: string, keys: readonly string[]) {
    super(`${what} touches keys in different cluster slots: ${keys.map((k) => `${k} (slot ${slotOf(k)})`).join(', ')}`);
    this.name = 'CrossSlotError';
  }
}

/**
 * Refuses keys that a Redis Cluster could not serve in one command. Checked on every run, against a
 * single server too, so a cross-slot call fails in every test that reaches it, not only on a cluster.
 */
export function assertSingleSlot(what: string, keys: readonly string[]): void {
  if (keys.length > 1 && calculateSlot.generateMulti([...keys]) < 0) throw new CrossSlotError(what, keys);
}
