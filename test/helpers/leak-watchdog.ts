/**
 * Mocha runs without `exit: true`, so the process ends only when nothing keeps it alive. After the last
 * root hook this watchdog waits `graceMs` (unref'd: it never holds the process itself); if the run is
 * still alive then, something leaked — a connection, a server, a child process, a ref'd timer. It names
 * what is open and fails the run instead of hanging it.
 */
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';

interface Handle {
  constructor?: { name?: string };
}

function describeHandle(handle: Handle): string | null {
  if (handle instanceof net.Socket) {
    // The process' own stdio are sockets or pipes too; they never keep it alive on their own.
    if ((handle as net.Socket & { fd?: number }).fd !== undefined && [0, 1, 2].includes((handle as net.Socket & { fd: number }).fd)) return null;
    return handle.remotePort ? `socket to ${handle.remoteAddress ?? '?'}:${handle.remotePort}` : 'socket (unconnected or pipe)';
  }
  if (handle instanceof net.Server) {
    const address = handle.address();
    return `server listening on ${typeof address === 'object' && address ? `${address.address}:${address.port}` : String(address)}`;
  }
  const child = handle as Partial<ChildProcess>;
  if (typeof child.pid === 'number' && typeof child.kill === 'function') return `child process ${child.pid} (${child.spawnfile ?? '?'})`;
  return handle.constructor?.name ?? 'unknown handle';
}

/** The handles node still holds (the API is internal but stable across node 12–22). */
export function openHandles(): string[] {
  const active = (process as unknown as { _getActiveHandles?: () => Handle[] })._getActiveHandles?.() ?? [];
  return active.map(describeHandle).filter((d): d is string => d !== null);
}

export function armLeakWatchdog(graceMs: number): void {
  setTimeout(() => {
    const handles = openHandles();
    const resources = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWRAP');
    process.stderr.write(
      `\nThe test run ended but the process stayed alive ${graceMs} ms later: something was not closed.\n` +
        `  open handles: ${handles.join('; ') || 'none listed'}\n  active resources: ${resources.join(', ')}\n`,
    );
    // Mocha (without `exit: true`) sets the exit code to its failure count in an 'exit' listener; this one,
    // added later, runs after it.
    process.on('exit', () => {
      process.exitCode = 1;
    });
    process.exit(1);
  }, graceMs).unref();
}

/**
 * In a worker of `mocha --parallel` the process never ends by itself (the pool holds it and kills it after
 * the run), so the watchdog above cannot see a leak there. Instead each spec file is checked on its own:
 * what keeps a process alive (its ref'd handles, requests and timers) is noted before the file runs, and
 * after it everything the file added must be gone within `graceMs`, or the file fails naming what is open.
 */
export interface AliveSnapshot {
  resources: string[];
  handles: Set<unknown>;
}

/** What keeps this process alive: the ref'd handles, requests and timers (the TTY is never one of them). */
const aliveResources = (): string[] => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWRAP');
const activeHandles = (): Handle[] => (process as unknown as { _getActiveHandles?: () => Handle[] })._getActiveHandles?.() ?? [];

export function aliveSnapshot(): AliveSnapshot {
  return { resources: aliveResources(), handles: new Set(activeHandles()) };
}

/** The resources in `now` beyond those in `before` (both are lists of type names, repeats counted). */
function added(now: string[], before: string[]): string[] {
  const left = new Map<string, number>();
  for (const r of before) left.set(r, (left.get(r) ?? 0) + 1);
  return now.filter((r) => {
    const n = left.get(r) ?? 0;
    if (n > 0) left.set(r, n - 1);
    return n === 0;
  });
}

export async function expectNothingLeftOpen(before: AliveSnapshot, graceMs: number, file: string): Promise<void> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const extra = added(aliveResources(), before.resources);
    if (extra.length === 0) return;
    if (Date.now() >= deadline) {
      const handles = activeHandles().filter((h) => !before.handles.has(h)).map(describeHandle).filter((d): d is string => d !== null);
      throw new Error(
        `${file} ended but what it opened stayed open ${graceMs} ms later: something was not closed.\n` +
          `  open handles: ${handles.join('; ') || 'none listed'}\n  active resources added: ${extra.join(', ')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
