import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { WarehouseError } from './types';

/**
 * A few connections of one DuckDB instance. Each query borrows one exclusively, so queries run in
 * parallel and `interrupt()` on a borrowed connection can only ever stop that query.
 */
export class DuckDbPool {
  private readonly idle: DuckDBConnection[] = [];
  private readonly all: DuckDBConnection[] = [];
  private readonly waiters: Array<(conn: DuckDBConnection) => void> = [];
  private readonly busy = new Set<DuckDBConnection>();
  private closed = false;

  private constructor(private readonly instance: DuckDBInstance) {}

  static async create(instance: DuckDBInstance, size: number): Promise<DuckDbPool> {
    const pool = new DuckDbPool(instance);
    for (let i = 0; i < size; i++) {
      const conn = await instance.connect();
      pool.all.push(conn);
      pool.idle.push(conn);
    }
    return pool;
  }

  async use<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    const conn = await this.acquire();
    this.busy.add(conn);
    try {
      return await fn(conn);
    } finally {
      this.busy.delete(conn);
      this.release(conn);
    }
  }

  private acquire(): Promise<DuckDBConnection> {
    if (this.closed) return Promise.reject(new WarehouseError('The DuckDB warehouse is closed', 'unavailable'));
    const conn = this.idle.pop();
    if (conn) return Promise.resolve(conn);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private release(conn: DuckDBConnection): void {
    if (this.closed) return;
    const waiter = this.waiters.shift();
    if (waiter) waiter(conn);
    else this.idle.push(conn);
  }

  /**
   * Interrupts running queries and waits (bounded) for them to give their connection back before
   * closing: a native query still running at process exit would keep the process from exiting.
   * An interrupt sent just before a query starts can be missed, hence the repeated interrupts.
   */
  async close(graceMs = 2000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const deadline = Date.now() + graceMs;
    while (this.busy.size > 0 && Date.now() < deadline) {
      for (const conn of this.busy) conn.interrupt();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const conn of this.all) conn.closeSync();
    this.instance.closeSync();
  }
}
