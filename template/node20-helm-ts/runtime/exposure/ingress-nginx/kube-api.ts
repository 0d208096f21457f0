// The few Kubernetes calls the ingress code makes, each through withRetry, with counters for the
// benchmark. Reads of missing objects return undefined; other failures are KUBE_API_ERROR. Every
// object answered is stamped with when this process saw it (seenAt), so that code holding two
// objects can tell which one reflects the older state of the cluster.
import type { CoreV1Api, V1ConfigMap, V1Service } from '@kubernetes/client-node';
import { isNotFound, withRetry, type RetryOptions } from '../../kube.js';

export interface ObjectRef {
  namespace: string;
  name: string;
}

export interface KubeStats {
  reads: number;
  writes: number;
  /** Writes refused with 409 (stale resourceVersion or AlreadyExists). */
  conflicts: number;
}

/**
 * When an object was seen, on a counter that ticks at every request sent and every answer received
 * by this IngressKube. The object's state is no older than the cluster was at `sent` and no newer
 * than at `received`: an object with `received` below another's `sent` shows the older state.
 */
export interface Seen {
  sent: number;
  received: number;
}

export interface IngressKube {
  listServices(opts: { namespace: string; labelSelector: string }): Promise<V1Service[]>;
  readService(ref: ObjectRef): Promise<V1Service | undefined>;
  /** Conditional on body.metadata.resourceVersion. */
  replaceService(ref: ObjectRef, body: V1Service): Promise<V1Service>;
  readConfigMap(ref: ObjectRef): Promise<V1ConfigMap | undefined>;
  createConfigMap(ref: ObjectRef, body: V1ConfigMap): Promise<V1ConfigMap>;
  /** Conditional on body.metadata.resourceVersion. */
  replaceConfigMap(ref: ObjectRef, body: V1ConfigMap): Promise<V1ConfigMap>;
  /** When an object answered by one of these calls (list items included) was seen. */
  seenAt(object: object): Seen | undefined;
  readonly stats: KubeStats;
}

export function createIngressKube({
  api,
  retry = {},
  shareLists = true,
}: {
  api: CoreV1Api;
  retry?: RetryOptions;
  /**
   * Calls that list Services while the same list is in flight share its answer. Lists only: a read
   * that started before a caller's own write must never stand in for a read made after it.
   */
  shareLists?: boolean;
}): IngressKube {
  const stats: KubeStats = { reads: 0, writes: 0, conflicts: 0 };
  const inflight = new Map<string, Promise<V1Service[]>>();
  let tick = 0;
  const seen = new WeakMap<object, Seen>();

  /** Runs the call (with its retries) and stamps what it answered. */
  const stamped = async <T>(operation: string, call: Parameters<typeof withRetry<T>>[0], objects: (answer: T) => object[]): Promise<T> => {
    const sent = ++tick;
    const answer = await withRetry(call, { ...retry, operation });
    const received = ++tick;
    for (const object of objects(answer)) seen.set(object, { sent, received });
    return answer;
  };
  const itself = <T>(answer: T): object[] => (answer !== null && typeof answer === 'object' ? [answer] : []);

  const read = async <T>(operation: string, call: Parameters<typeof withRetry<T>>[0]): Promise<T | undefined> => {
    stats.reads++;
    try {
      return await stamped(operation, call, itself);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };

  const write = async <T>(operation: string, call: Parameters<typeof withRetry<T>>[0]): Promise<T> => {
    stats.writes++;
    try {
      return await stamped(operation, call, itself);
    } catch (err) {
      if ((err as { details?: { status?: number } }).details?.status === 409) stats.conflicts++;
      throw err;
    }
  };

  return {
    stats,
    seenAt: (object) => seen.get(object),
    listServices({ namespace, labelSelector }) {
      const key = `${namespace}?${labelSelector}`;
      const shared = inflight.get(key);
      if (shared) return shared;
      stats.reads++;
      const list = stamped(
        `list Services in ${namespace} (${labelSelector})`,
        ({ options }) => api.listNamespacedService({ namespace, labelSelector }, options),
        (l) => l.items,
      ).then((l) => l.items);
      if (!shareLists) return list;
      inflight.set(key, list);
      const forget = () => inflight.delete(key);
      list.then(forget, forget);
      return list;
    },
    readService: ({ namespace, name }) =>
      read(`read Service ${namespace}/${name}`, ({ options }) => api.readNamespacedService({ namespace, name }, options)),
    replaceService: ({ namespace, name }, body) =>
      write(`replace Service ${namespace}/${name}`, ({ options }) => api.replaceNamespacedService({ namespace, name, body }, options)),
    readConfigMap: ({ namespace, name }) =>
      read(`read ConfigMap ${namespace}/${name}`, ({ options }) => api.readNamespacedConfigMap({ namespace, name }, options)),
    createConfigMap: ({ namespace, name }, body) =>
      write(`create ConfigMap ${namespace}/${name}`, ({ options }) => api.createNamespacedConfigMap({ namespace, body }, options)),
    replaceConfigMap: ({ namespace, name }, body) =>
      write(`replace ConfigMap ${namespace}/${name}`, ({ options }) =>
        api.replaceNamespacedConfigMap({ namespace, name, body }, options),
      ),
  };
}
