import type { RunProgress } from '../pipelines/types';

export interface ProgressWriter {
  /** The run's latest progress; only the last one reported within the write interval is written. */
  report(progress: RunProgress): void;
  /** The run ended: a progress not written yet is dropped (the terminal write carries the final steps). */
  stop(): void;
}

/**
 * How long a run's progress waits before it is written to the live record (GET run shows it live). A run that
 * ends within it writes no progress at all: the terminal write carries its steps. Most embedded runs, and many
 * short warehouse jobs, end within it, so this saves a Redis round trip per run at hundreds of runs/s; a run
 * that takes longer still shows its RUNNING step within this time.
 */
export const PROGRESS_WRITE_INTERVAL_MS = 1000;

/**
 * Coalesces a run's progress writes to its live record: at most one write per `intervalMs` (0: per turn of the
 * event loop), with the latest progress, and none once the run has ended. Writes are issued in order on one
 * connection, so a later progress never lands before an earlier one.
 */
export function progressWriter(write: (progress: RunProgress) => Promise<void>, onError: (err: Error) => void, intervalMs = 0): ProgressWriter {
  let latest: RunProgress | null = null;
  let timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  let stopped = false;
  const flush = (): void => {
    timer = null;
    const progress = latest;
    latest = null;
    if (stopped || progress === null) return;
    write(progress).catch(onError);
  };
  return {
    report(progress) {
      if (stopped) return;
      latest = progress;
      if (timer !== null) return;
      timer = intervalMs > 0 ? setTimeout(flush, intervalMs) : setImmediate(flush);
    },
    stop() {
      stopped = true;
      latest = null;
      if (timer === null) return;
      if (intervalMs > 0) clearTimeout(timer as NodeJS.Timeout);
      else clearImmediate(timer as NodeJS.Immediate);
      timer = null;
    },
  };
}
