import { describe, expect, test } from 'vitest';
import { FunctionError } from '#runtime/errors.js';
import { releaseLockKey, withMutex, withTryLock } from '#runtime/helm/lock.js';

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

describe('withTryLock', () => {
  test('a second holder of the same key is refused at once with OPERATION_IN_PROGRESS', async () => {
    const gate = deferred();
    const key = releaseLockKey('ns', 'web');
    const first = withTryLock(key, async () => {
      await gate.promise;
      return 'first';
    });
    const second = withTryLock(key, async () => 'second');
    await expect(second).rejects.toMatchObject({ code: 'OPERATION_IN_PROGRESS', status: 409, details: { release: 'ns/web' } });
    await expect(second).rejects.toBeInstanceOf(FunctionError);
    // other keys are independent
    await expect(withTryLock(releaseLockKey('ns', 'other'), async () => 'other')).resolves.toBe('other');
    gate.resolve();
    await expect(first).resolves.toBe('first');
    await expect(withTryLock(key, async () => 'again')).resolves.toBe('again');
  });

  test('the key is released when fn throws', async () => {
    await expect(withTryLock('k', async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    await expect(withTryLock('k', async () => 1)).resolves.toBe(1);
  });
});

describe('withMutex', () => {
  test('runs callers one after the other, in order, even when one fails', async () => {
    const order: string[] = [];
    const gate = deferred();
    const a = withMutex('m', async () => {
      order.push('a-start');
      await gate.promise;
      order.push('a-end');
      throw new Error('a failed');
    });
    const b = withMutex('m', async () => {
      order.push('b');
      return 'b';
    });
    await Promise.resolve();
    expect(order).toEqual(['a-start']);
    gate.resolve();
    await expect(a).rejects.toThrow('a failed');
    await expect(b).resolves.toBe('b');
    expect(order).toEqual(['a-start', 'a-end', 'b']);
  });
});
