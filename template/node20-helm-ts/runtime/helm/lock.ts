// Two kinds of in-process locks: a try-lock that refuses at once (one helm operation per release, the
// caller learns immediately that another is running) and a queueing mutex (work that every caller
// needs done once, such as adding a repository).
import { FunctionError } from '../errors.js';

const held = new Set<string>();

/** Runs fn while holding `key`; throws OPERATION_IN_PROGRESS at once when the key is already held. */
export async function withTryLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  if (held.has(key)) {
    throw new FunctionError('OPERATION_IN_PROGRESS', undefined, { release: key });
  }
  held.add(key);
  try {
    return await fn();
  } finally {
    held.delete(key);
  }
}

export function releaseLockKey(namespace: string, releaseName: string): string {
  return `${namespace}/${releaseName}`;
}

const queues = new Map<string, Promise<unknown>>();

/** Runs fn after every earlier fn queued under the same key has settled. */
export async function withMutex<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  queues.set(key, tail);
  try {
    return await run;
  } finally {
    if (queues.get(key) === tail) queues.delete(key);
  }
}
