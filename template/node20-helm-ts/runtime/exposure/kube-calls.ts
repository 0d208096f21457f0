// How the exposure backends call the Kubernetes API: every call through withRetry, counted; reads
// of missing objects answer undefined; lists in flight are shared; every object answered is stamped
// with when this process saw it (seenAt), so that code holding two objects can tell which one
// reflects the older state of the cluster. Other failures are KUBE_API_ERROR.
import { isNotFound, kubeStatus, withRetry, type RetryOptions } from '../kube.js';

type Call<T> = Parameters<typeof withRetry<T>>[0];

export interface KubeStats {
  reads: number;
  writes: number;
  /** Writes refused with 409 (stale resourceVersion or AlreadyExists). */
  conflicts: number;
}

/**
 * When an object was seen, on a counter that ticks at every request sent and every answer received
 * through these calls. The object's state is no older than the cluster was at `sent` and no newer
 * than at `received`: an object with `received` below another's `sent` shows the older state.
 */
export interface Seen {
  sent: number;
  received: number;
}

export interface KubeCalls {
  read<T>(operation: string, call: Call<T>): Promise<T | undefined>;
  write<T>(operation: string, call: Call<T>): Promise<T>;
  /** A write where a missing object is fine (deletes). */
  remove(operation: string, call: Call<unknown>): Promise<void>;
  /**
   * A list; calls with the same `key` while one is in flight share its answer (no key: never
   * shared). Only for callers that do not need to see writes that finished before they started: a
   * list in flight may have started before them.
   */
  list<T extends object>(key: string | undefined, operation: string, call: Call<{ items: T[] }>): Promise<T[]>;
  seenAt(object: object): Seen | undefined;
  readonly stats: KubeStats;
}

export function createKubeCalls({ retry = {}, shareLists = true }: { retry?: RetryOptions; shareLists?: boolean }): KubeCalls {
  const stats: KubeStats = { reads: 0, writes: 0, conflicts: 0 };
  const inflight = new Map<string, Promise<object[]>>();
  const seen = new WeakMap<object, Seen>();
  let tick = 0;

  /** Runs the call (with its retries) and stamps what it answered. */
  const stamped = async <T>(operation: string, call: Call<T>, objects: (answer: T) => unknown[]): Promise<T> => {
    const sent = ++tick;
    const answer = await withRetry(call, { ...retry, operation });
    const received = ++tick;
    for (const object of objects(answer)) if (object !== null && typeof object === 'object') seen.set(object, { sent, received });
    return answer;
  };

  const write = async <T>(operation: string, call: Call<T>): Promise<T> => {
    stats.writes++;
    try {
      return await stamped(operation, call, (answer) => [answer]);
    } catch (err) {
      if (kubeStatus(err) === 409) stats.conflicts++;
      throw err;
    }
  };

  return {
    stats,
    seenAt: (object) => seen.get(object),
    async read(operation, call) {
      stats.reads++;
      try {
        return await stamped(operation, call, (answer) => [answer]);
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    write,
    async remove(operation, call) {
      try {
        await write(operation, call);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },
    list<T extends object>(key: string | undefined, operation: string, call: Call<{ items: T[] }>): Promise<T[]> {
      const shared = key === undefined ? undefined : inflight.get(key);
      if (shared) return shared as Promise<T[]>;
      stats.reads++;
      const list = stamped(operation, call, (l) => l.items).then((l) => l.items);
      if (!shareLists || key === undefined) return list;
      inflight.set(key, list);
      const forget = () => inflight.delete(key);
      list.then(forget, forget);
      return list;
    },
  };
}
