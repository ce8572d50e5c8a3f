import net from 'node:net';
import { performance } from 'node:perf_hooks';

/** Small pieces of the container smoke test: numbered steps that print what they did, HTTP, polling. */

let stepNumber = 0;

/** Runs one step, printing its title, its one-line outcome and how long it took; a throw fails the smoke test. */
export async function checkStep(title: string, body: () => Promise<string>): Promise<void> {
  stepNumber += 1;
  process.stdout.write(`\n[${stepNumber}] ${title}\n`);
  const started = performance.now();
  const outcome = await body();
  process.stdout.write(`    ✓ ${outcome} (${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
}

export interface HttpAnswer {
  status: number;
  body: Record<string, unknown>;
}

export async function http(base: string, method: string, urlPath: string, options: { headers?: Record<string, string>; body?: unknown } = {}): Promise<HttpAnswer> {
  const res = await fetch(`${base}${urlPath}`, {
    method,
    headers: { ...options.headers, ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    body = { text };
  }
  return { status: res.status, body };
}

/** Polls `check` until it returns a value; a throw from `check` ends the wait at once. */
export async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
