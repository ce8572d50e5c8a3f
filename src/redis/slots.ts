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
  if (keys.length < 2 || sameHashTag(keys)) return;
  if (calculateSlot.generateMulti([...keys]) < 0) throw new CrossSlotError(what, keys);
}

/** What Redis hashes of a key: the text between the first `{` and the next `}` when not empty, else the whole key. */
function hashedPart(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  return close < 0 || close === open + 1 ? key : key.slice(open + 1, close);
}

/** Every key hashes the same text (e.g. one tenant's `{t:<id>}`): one slot without computing any (the request path's case). */
function sameHashTag(keys: readonly string[]): boolean {
  const first = hashedPart(keys[0] as string);
  for (let i = 1; i < keys.length; i += 1) if (hashedPart(keys[i] as string) !== first) return false;
  return true;
}
