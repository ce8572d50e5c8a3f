/** The CRC16 hash-slot function ioredis itself routes Cluster commands with (no bundled types). */
declare module 'cluster-key-slot' {
  /** The cluster slot (0–16383) of a key, honouring a `{hash tag}`. */
  function calculateSlot(key: string | Buffer): number;
  namespace calculateSlot {
    /** The common slot of all keys, or -1 when they hash to different slots. */
    function generateMulti(keys: (string | Buffer)[]): number;
  }
  export = calculateSlot;
}
