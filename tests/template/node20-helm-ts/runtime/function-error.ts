// The FunctionError a call fails with, for assertions on its code, status, message and details.
import { expect } from 'vitest';
import { FunctionError } from '#runtime/errors.js';

/** What fn throws, which must be a FunctionError; the test fails when fn returns. */
export function thrownBy(fn: () => unknown): FunctionError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FunctionError);
    return err as FunctionError;
  }
  throw new Error('expected a FunctionError to be thrown');
}

/** What promise rejects with, which must be a FunctionError; the test fails when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<FunctionError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(FunctionError);
    return err as FunctionError;
  }
  throw new Error('expected a rejection with a FunctionError');
}
