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

/** Awaits a promise that must reject with a WarehouseError, and returns that error for assertions. */
export async function warehouseRejection(promise: Promise<unknown>): Promise<WarehouseError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof WarehouseError) return err;
    throw err;
  }
  throw new Error('expected a WarehouseError');
}
