import type { Warehouse } from '../../src/warehouse/types';

export interface WarehouseOutage {
  /** The warehouse to hand to the system under test: the real one while up. */
  warehouse: Warehouse;
  /** From now on these methods reject as an unreachable warehouse would. */
  down(methods: Array<keyof Warehouse>): void;
  up(): void;
}

/** A warehouse that can be taken down on purpose, injected where the system takes its warehouse. */
export function warehouseOutage(inner: Warehouse): WarehouseOutage {
  let failing = new Set<PropertyKey>();
  const warehouse = new Proxy(inner, {
    get(target, prop, receiver) {
      if (failing.has(prop)) return () => Promise.reject(new Error('warehouse down'));
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return {
    warehouse,
    down: (methods) => {
      failing = new Set(methods);
    },
    up: () => {
      failing = new Set();
    },
  };
}
