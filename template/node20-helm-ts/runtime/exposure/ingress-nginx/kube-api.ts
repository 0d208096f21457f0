// The few Kubernetes calls the ingress-nginx backend makes (see ../kube-calls.ts for how).
import type { CoreV1Api, V1ConfigMap, V1Service } from '@kubernetes/client-node';
import type { RetryOptions } from '../../kube.js';
import { createKubeCalls, type KubeStats, type Seen } from '../kube-calls.js';

import type { ObjectRef } from '../cas-writer.js';

export type { KubeStats, Seen } from '../kube-calls.js';
export type { ObjectRef } from '../cas-writer.js';

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
  const { read, write, list, seenAt, stats } = createKubeCalls({ retry, shareLists });

  return {
    stats,
    seenAt,
    listServices: ({ namespace, labelSelector }) =>
      list(`${namespace}?${labelSelector}`, `list Services in ${namespace} (${labelSelector})`, ({ options }) =>
        api.listNamespacedService({ namespace, labelSelector }, options),
      ),
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
