import type { Warehouse } from '../../src/warehouse/types';

/**
 * The real warehouse with `before` called ahead of every `query` (awaited: it may count, or hold the query a while);
 * every other method goes straight through.
 */
export function beforeEachQuery(inner: Warehouse, before: (sql: string) => void | Promise<void>): Warehouse {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop !== 'query') return (value as (...a: unknown[]) => unknown).bind(target);
      return async (sql: string, ...rest: unknown[]) => {
        await before(sql);
        return (value as (...a: unknown[]) => unknown).apply(target, [sql, ...rest]);
      };
    },
  });
}
