import type { RunProgress } from '../pipelines/types';

export interface ProgressWriter {
  /** The run's latest progress; only the last one reported within a turn of the event loop is written. */
  report(progress: RunProgress): void;
  /** The run ended: a progress not written yet is dropped (the terminal write carries the final steps). */
  stop(): void;
}

/**
 * Coalesces a run's progress writes to its live record: at most one write per turn of the event loop,
 * with the latest progress, and none once the run has ended. A step that finishes just before the run
 * does (the last step of every run) then costs no write of its own: the terminal write has its state.
 * Writes are issued in order on one connection, so a later progress never lands before an earlier one.
 */
export function progressWriter(write: (progress: RunProgress) => Promise<void>, onError: (err: Error) => void): ProgressWriter {
  let latest: RunProgress | null = null;
  let scheduled = false;
  let stopped = false;
  const flush = (): void => {
    scheduled = false;
    const progress = latest;
    latest = null;
    if (stopped || progress === null) return;
    write(progress).catch(onError);
  };
  return {
    report(progress) {
      if (stopped) return;
      latest = progress;
      if (scheduled) return;
      scheduled = true;
      setImmediate(flush);
    },
    stop() {
      stopped = true;
      latest = null;
    },
  };
}
