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

/** The WarehouseError a promise rejects with. */
export const warehouseRejection = (promise: Promise<unknown>): Promise<WarehouseError> => rejectionOf(promise, WarehouseError);
