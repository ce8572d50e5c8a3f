import type { Worker } from 'bullmq';

/**
 * Closes a BullMQ worker, stalled-jobs check included. In BullMQ 5.x a pause() or close() that lands while that
 * check is querying Redis stops the check's previous wait, not the one it arms next: the check then sleeps on a
 * ref'd `stalledInterval` timer (30 s by default) after close() resolved, keeping an otherwise closed process alive
 * that long. So once closed, that wait is stopped until the check has ended.
 */
export async function closeWorker(worker: Worker, force = false): Promise<void> {
  await worker.close(force);
  const check = worker as unknown as { stalledCheckerRunning?: boolean; stalledCheckStopper?: () => void };
  // Its query fails at once on the closed connection; the bound only keeps a broken assumption from hanging close.
  const until = Date.now() + 2000;
  while (check.stalledCheckerRunning === true && Date.now() < until) {
    check.stalledCheckStopper?.();
    await new Promise<void>((resolve) => setTimeout(resolve, 1));
  }
}
