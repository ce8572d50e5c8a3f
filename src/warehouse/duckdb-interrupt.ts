import type { DuckDBConnection } from '@duckdb/node-api';

/**
 * Interrupts the connection's running query when the signal aborts, repeatedly until the returned stop function
 * is called: an interrupt that lands just before execution starts is lost.
 */
export function interruptOnAbort(conn: DuckDBConnection, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => undefined;
  let repeat: NodeJS.Timeout | undefined;
  const onAbort = (): void => {
    conn.interrupt();
    repeat = setInterval(() => conn.interrupt(), 25);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  return () => {
    if (repeat) clearInterval(repeat);
    signal.removeEventListener('abort', onAbort);
  };
}
