import { AppError } from '../../src/shared/errors';
import { WarehouseError } from '../../src/warehouse/types';

/** Awaits a promise that must reject with an error of the given class, and returns that error for assertions. */
async function rejectionOf<E extends Error>(promise: Promise<unknown>, type: abstract new (...args: never[]) => E): Promise<E> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof type) return err;
    throw err;
  }
  throw new Error(`expected a ${type.name}`);
}

/** The AppError a promise rejects with. */
export const caught = (promise: Promise<unknown>): Promise<AppError> => rejectionOf(promise, AppError);

/** Runs `work` (a promise, or a function that may throw or return one), which must fail with a WarehouseError; returns it. */
export const warehouseError = (work: Promise<unknown> | (() => unknown)): Promise<WarehouseError> =>
  rejectionOf(typeof work === 'function' ? Promise.resolve().then(work) : work, WarehouseError);
