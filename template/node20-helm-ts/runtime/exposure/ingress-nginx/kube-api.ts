// The few Kubernetes calls the ingress code makes, each through withRetry, with counters for the
// benchmark. Reads of missing objects return undefined; other failures are KUBE_API_ERROR.
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

export interface IngressKube {
  listServices(opts: { namespace: string; labelSelector: string }): Promise<V1Service[]>;
  readService(ref: ObjectRef): Promise<V1Service | undefined>;
  /** Conditional on body.metadata.resourceVersion. */
  replaceService(ref: ObjectRef, body: V1Service): Promise<V1Service>;
  readConfigMap(ref: ObjectRef): Promise<V1ConfigMap | undefined>;
  createConfigMap(ref: ObjectRef, body: V1ConfigMap): Promise<V1ConfigMap>;
  /** Conditional on body.metadata.resourceVersion. */
  replaceConfigMap(ref: ObjectRef, body: V1ConfigMap): Promise<V1ConfigMap>;
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

  const read = async <T>(operation: string, call: Parameters<typeof withRetry<T>>[0]): Promise<T | undefined> => {
    stats.reads++;
    try {
      return await withRetry(call, { ...retry, operation });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };

  const write = async <T>(operation: string, call: Parameters<typeof withRetry<T>>[0]): Promise<T> => {
    stats.writes++;
    try {
      return await withRetry(call, { ...retry, operation });
    } catch (err) {
      if ((err as { details?: { status?: number } }).details?.status === 409) stats.conflicts++;
      throw err;
    }
  };

  return {
    stats,
    listServices({ namespace, labelSelector }) {
      const key = `${namespace}?${labelSelector}`;
      const shared = inflight.get(key);
      if (shared) return shared;
      stats.reads++;
      const list = withRetry(({ options }) => api.listNamespacedService({ namespace, labelSelector }, options), {
        ...retry,
        operation: `list Services in ${namespace} (${labelSelector})`,
      }).then((l) => l.items);
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
