// What "nothing changed in the cluster" means for the security tests: the same stored objects (and
// the same global resourceVersion, which every write moves), and no write request in the log.
import type { Cluster, RequestEntry } from '../../dev/cluster/index.js';

const RESOURCES = [
  'namespaces',
  'configmaps',
  'secrets',
  'services',
  'endpoints',
  'serviceaccounts',
  'deployments',
  'replicasets',
  'statefulsets',
  'daemonsets',
  'pods',
  'jobs',
  'ingresses',
  'roles',
  'rolebindings',
];

export const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

export interface ClusterSnapshot {
  resourceVersion: string;
  objects: Record<string, unknown[]>;
}

export function snapshot(cluster: Cluster): ClusterSnapshot {
  return {
    resourceVersion: cluster.store.resourceVersion,
    objects: Object.fromEntries(RESOURCES.map((resource) => [resource, cluster.store.list({ resource })])),
  };
}

/** Write requests in the emulator's log, as "<verb> <path> -> <status>". */
export function writeRequests(cluster: Cluster): string[] {
  return cluster.requests.entries.filter((e: RequestEntry) => WRITE_VERBS.has(e.verb)).map((e) => `${e.verb} ${e.path} -> ${e.status}`);
}
