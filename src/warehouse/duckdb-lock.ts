import fs from 'node:fs';
import { WarehouseError } from './types';

/**
 * DuckDB lets one process write a database file. A second process would otherwise fail deep inside
 * DuckDB with an obscure message (or, worse, the first process would). We take an exclusive lock file
 * next to the database at boot, holding our pid; a lock whose pid is dead is stale and taken over.
 */

export interface DuckDbLock {
  readonly path: string;
  release(): void;
}

export const lockPathFor = (dbPath: string): string => `${dbPath}.lock`;

export function lockConflictMessage(dbPath: string, pid: number | string): string {
  return (
    `The DuckDB warehouse file ${dbPath} is already opened by process ${pid}. ` +
    'With WAREHOUSE=duckdb run all roles in one process (ROLE=all, `npm start`), ' +
    'or use WAREHOUSE=bigquery to run roles as separate processes.'
  );
}

/** True when DuckDB's own error says another process holds the file. */
export function isDuckDbLockError(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : String(err);
  return /Could not set lock on file|Conflicting lock is held/i.test(msg);
}

/** Maps DuckDB's own lock error (e.g. another tool holds the file) to the message above. */
export function duckDbLockError(dbPath: string, err: unknown): WarehouseError {
  const msg = err instanceof Error ? err.message : String(err);
  const pid = /PID (\d+)/i.exec(msg)?.[1] ?? 'another process';
  return new WarehouseError(lockConflictMessage(dbPath, pid), 'unavailable', { cause: err });
}

/** True while a process with this pid exists (EPERM: it does, under another user). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else — still alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(lockPath: string): number | null {
  try {
    const pid = Number.parseInt(fs.readFileSync(lockPath, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

export function acquireDuckDbLock(dbPath: string): DuckDbLock {
  const lockPath = lockPathFor(dbPath);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      // 'wx' fails when the file exists: creation is the atomic test-and-set.
      fs.writeFileSync(lockPath, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
      return makeLock(lockPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readPid(lockPath);
    // Our own pid: a second Warehouse in this process. Same fix, so the same message.
    if (holder !== null && (holder === process.pid || pidAlive(holder))) throw new WarehouseError(lockConflictMessage(dbPath, holder), 'unavailable');
    // Stale (dead pid or unreadable): remove and retry the atomic create.
    fs.rmSync(lockPath, { force: true });
  }
  throw new WarehouseError(lockConflictMessage(dbPath, readPid(lockPath) ?? 'unknown'), 'unavailable');
}

function makeLock(lockPath: string): DuckDbLock {
  let released = false;
  const releaseOnExit = (): void => lock.release();
  const lock: DuckDbLock = {
    path: lockPath,
    release() {
      if (released) return;
      released = true;
      process.off('exit', releaseOnExit);
      if (readPid(lockPath) === process.pid) fs.rmSync(lockPath, { force: true });
    },
  };
  process.on('exit', releaseOnExit);
  return lock;
}
