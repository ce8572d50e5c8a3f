import { AppError } from '../../src/shared/errors';

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
