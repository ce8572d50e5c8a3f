/**
 * Work a process started and does not wait for where it starts it (a webhook announcement after a run ended, what a
 * cancelled BigQuery job billed), tracked so a graceful stop can wait for it before the connections close.
 */
export class PendingWork {
  private readonly pending = new Set<Promise<void>>();

  /** `work` must not reject. */
  track(work: Promise<void>): void {
    const tracked = work.finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  /** Waits for the tracked work, including work tracked meanwhile; with `timeoutMs`, false if some was still going then. */
  async drain(timeoutMs?: number): Promise<boolean> {
    const done = (async () => {
      while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
      return true as const;
    })();
    if (timeoutMs === undefined) return done;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([done, expired]);
    } finally {
      clearTimeout(timer);
    }
  }
}
