import { AppError } from '../../src/shared/errors';
import { WarehouseError } from '../../src/warehouse/types';

/** Awaits a promise that must reject with an AppError, and returns that error for assertions. */
export async function caught(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError');
}

/** Runs `work` (a promise, or a function that may throw or return one), which must fail with a WarehouseError; returns it. */
export async function warehouseError(work: Promise<unknown> | (() => unknown)): Promise<WarehouseError> {
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (err) {
    if (err instanceof WarehouseError) return err;
    throw err;
  }
  throw new Error('expected a WarehouseError');
}
