// The Kubernetes calls of the Gateway API backend (see ../kube-calls.ts for how).
//
// TCPRoute and UDPRoute are served as gateway.networking.k8s.io/v1 since Gateway API v1.6 and as
// v1alpha2 before; ReferenceGrant as v1 in newer releases and v1beta1 before. Which versions this
// cluster serves is read from discovery once (and again only after a failed read).
import { CustomObjectsApi, KubernetesObjectApi, type CoreV1Api, type KubeConfig, type V1Service } from '@kubernetes/client-node';
import { FunctionError } from '../../errors.js';
import type { RetryOptions } from '../../kube.js';
import type { ObjectRef } from '../cas-writer.js';
import { createKubeCalls, type KubeStats } from '../kube-calls.js';

export const GROUP = 'gateway.networking.k8s.io';

export interface Metadata {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface Listener {
  name: string;
  protocol: string;
  port: number;
  hostname?: string;
  allowedRoutes?: {
    namespaces?: { from?: 'All' | 'Same' | 'Selector'; selector?: { matchLabels?: Record<string, string> } };
    kinds?: { group?: string; kind: string }[];
  };
  [field: string]: unknown;
}

export interface Gateway {
  apiVersion?: string;
  kind?: string;
  metadata: Metadata;
  spec: { gatewayClassName?: string; listeners?: Listener[]; [field: string]: unknown };
  status?: { addresses?: { type?: string; value?: string }[]; [field: string]: unknown };
}

export type RouteKind = 'TCPRoute' | 'UDPRoute';

export interface Route {
  apiVersion?: string;
  kind?: RouteKind;
  metadata: Metadata;
  spec: {
    parentRefs?: { group?: string; kind?: string; namespace?: string; name: string; sectionName?: string; port?: number }[];
    rules?: { backendRefs?: { group?: string; kind?: string; name: string; namespace?: string; port?: number }[] }[];
  };
}

export interface ReferenceGrant {
  apiVersion?: string;
  kind?: 'ReferenceGrant';
  metadata: Metadata;
  spec: { from: { group: string; kind: string; namespace: string }[]; to: { group: string; kind: string; name?: string }[] };
}

/** Served versions, from discovery. */
export interface GatewayVersions {
  route: 'v1' | 'v1alpha2';
  referenceGrant: 'v1' | 'v1beta1';
}

/** Reads a group version's resource list (client-node keeps the lookup itself protected). */
class Discovery extends KubernetesObjectApi {
  async serves(apiVersion: string, kind: string): Promise<boolean> {
    return (await this.resource(apiVersion, kind)) !== undefined;
  }
}

const PLURAL: Record<RouteKind | 'ReferenceGrant', string> = { TCPRoute: 'tcproutes', UDPRoute: 'udproutes', ReferenceGrant: 'referencegrants' };

export interface GatewayKube {
  versions(): Promise<GatewayVersions>;
  /**
   * `fresh`: never share a list already in flight (one that may have started before the caller);
   * for answers that must show every write finished before the call (list, delete, repair).
   */
  listGateways(opts: { namespace: string; labelSelector: string; fresh?: boolean }): Promise<Gateway[]>;
  readGateway(ref: ObjectRef): Promise<Gateway | undefined>;
  /** Conditional on body.metadata.resourceVersion. */
  replaceGateway(ref: ObjectRef, body: Gateway): Promise<Gateway>;
  readService(ref: ObjectRef): Promise<V1Service | undefined>;
  readRoute(kind: RouteKind, ref: ObjectRef): Promise<Route | undefined>;
  /** Routes of both kinds with this label selector, in `namespace` or in every namespace. */
  listRoutes(labelSelector: string, namespace?: string): Promise<Route[]>;
  createRoute(kind: RouteKind, body: Route): Promise<Route>;
  /** Conditional on body.metadata.resourceVersion. */
  replaceRoute(kind: RouteKind, body: Route): Promise<Route>;
  /** Missing is fine; `resourceVersion` makes the delete conditional on that version of the route. */
  deleteRoute(kind: RouteKind, ref: ObjectRef, resourceVersion?: string): Promise<void>;
  readReferenceGrant(ref: ObjectRef): Promise<ReferenceGrant | undefined>;
  createReferenceGrant(body: ReferenceGrant): Promise<ReferenceGrant>;
  replaceReferenceGrant(body: ReferenceGrant): Promise<ReferenceGrant>;
  /** Missing is fine; `resourceVersion` makes the delete conditional on that version. */
  deleteReferenceGrant(ref: ObjectRef, resourceVersion?: string): Promise<void>;
  readonly stats: KubeStats;
}

export function createGatewayKube({
  kc,
  core,
  retry = {},
  shareLists = true,
}: {
  kc: KubeConfig;
  core: CoreV1Api;
  retry?: RetryOptions;
  /** Calls that list Gateways while the same list is in flight share its answer (lists only). */
  shareLists?: boolean;
}): GatewayKube {
  const api = kc.makeApiClient(CustomObjectsApi);
  const discovery = kc.makeApiClient(Discovery);
  const { read, write, remove, list, stats } = createKubeCalls({ retry, shareLists });
  let discovered: Promise<GatewayVersions> | undefined;

  /** Whether `kind` is served at `version`; a group version the cluster does not have answers false. */
  const serves = async (version: string, kind: string): Promise<boolean> =>
    (await read(`discover ${GROUP}/${version}`, () => discovery.serves(`${GROUP}/${version}`, kind))) ?? false;

  const discover = async (): Promise<GatewayVersions> => {
    // One request per group version: client-node keeps each resource list it read.
    const v1Route = await serves('v1', 'TCPRoute');
    const v1Grant = await serves('v1', 'ReferenceGrant');
    const v1alpha2Route = !v1Route && (await serves('v1alpha2', 'TCPRoute'));
    if (!v1Route && !v1alpha2Route) {
      throw new FunctionError(
        'NO_INGRESS_CONTROLLER',
        `The cluster serves no ${GROUP} TCPRoute (v1 or v1alpha2): install the Gateway API CRDs of the experimental channel`,
        { group: GROUP },
      );
    }
    return { route: v1Route ? 'v1' : 'v1alpha2', referenceGrant: v1Grant ? 'v1' : 'v1beta1' };
  };

  const versions = () => {
    if (!discovered) {
      discovered = discover();
      discovered.catch(() => (discovered = undefined));
    }
    return discovered;
  };

  const routeCall = async (kind: RouteKind) => ({ group: GROUP, version: (await versions()).route, plural: PLURAL[kind] });
  const grantCall = async () => ({ group: GROUP, version: (await versions()).referenceGrant, plural: PLURAL.ReferenceGrant });
  const withApiVersion = <T extends { apiVersion?: string; kind?: string }>(body: T, version: string, kind: string): T => ({
    ...body,
    apiVersion: `${GROUP}/${version}`,
    kind,
  });
  const gateway = { group: GROUP, version: 'v1', plural: 'gateways' };
  const where = (ref: ObjectRef) => `${ref.namespace}/${ref.name}`;

  return {
    stats,
    versions,
    listGateways: ({ namespace, labelSelector, fresh }) =>
      list(fresh ? undefined : `${namespace}?${labelSelector}`, `list Gateways in ${namespace} (${labelSelector})`, ({ options }) =>
        api.listNamespacedCustomObject({ ...gateway, namespace, labelSelector }, options),
      ),
    readGateway: (ref) =>
      read(`read Gateway ${where(ref)}`, ({ options }) => api.getNamespacedCustomObject({ ...gateway, ...ref }, options)),
    replaceGateway: (ref, body) =>
      write(`replace Gateway ${where(ref)}`, ({ options }) =>
        api.replaceNamespacedCustomObject({ ...gateway, ...ref, body: withApiVersion(body, 'v1', 'Gateway') }, options),
      ),
    readService: ({ namespace, name }) =>
      read(`read Service ${namespace}/${name}`, ({ options }) => core.readNamespacedService({ namespace, name }, options)),
    readRoute: async (kind, ref) => {
      const call = await routeCall(kind);
      return read(`read ${kind} ${where(ref)}`, ({ options }) => api.getNamespacedCustomObject({ ...call, ...ref }, options));
    },
    listRoutes: async (labelSelector, namespace) => {
      const lists = await Promise.all(
        (['TCPRoute', 'UDPRoute'] as const).map(async (kind) => {
          const call = await routeCall(kind);
          const where = namespace === undefined ? '' : ` in ${namespace}`;
          const routes = await list<Route>(`${kind}${where}?${labelSelector}`, `list ${kind}s${where} (${labelSelector})`, ({ options }) =>
            namespace === undefined
              ? api.listClusterCustomObject({ ...call, labelSelector }, options)
              : api.listNamespacedCustomObject({ ...call, namespace, labelSelector }, options),
          );
          return routes.map((r) => ({ ...r, kind }));
        }),
      );
      return lists.flat();
    },
    createRoute: async (kind, body) => {
      const call = await routeCall(kind);
      const namespace = body.metadata.namespace!;
      return write(`create ${kind} ${namespace}/${body.metadata.name}`, ({ options }) =>
        api.createNamespacedCustomObject({ ...call, namespace, body: withApiVersion(body, call.version, kind) }, options),
      );
    },
    replaceRoute: async (kind, body) => {
      const call = await routeCall(kind);
      const ref = { namespace: body.metadata.namespace!, name: body.metadata.name! };
      return write(`replace ${kind} ${where(ref)}`, ({ options }) =>
        api.replaceNamespacedCustomObject({ ...call, ...ref, body: withApiVersion(body, call.version, kind) }, options),
      );
    },
    deleteRoute: async (kind, ref, resourceVersion) => {
      const call = await routeCall(kind);
      await remove(`delete ${kind} ${where(ref)}`, ({ options }) =>
        api.deleteNamespacedCustomObject({ ...call, ...ref, ...(resourceVersion && { body: { preconditions: { resourceVersion } } }) }, options),
      );
    },
    readReferenceGrant: async (ref) => {
      const call = await grantCall();
      return read(`read ReferenceGrant ${where(ref)}`, ({ options }) => api.getNamespacedCustomObject({ ...call, ...ref }, options));
    },
    createReferenceGrant: async (body) => {
      const call = await grantCall();
      const namespace = body.metadata.namespace!;
      return write(`create ReferenceGrant ${namespace}/${body.metadata.name}`, ({ options }) =>
        api.createNamespacedCustomObject({ ...call, namespace, body: withApiVersion(body, call.version, 'ReferenceGrant') }, options),
      );
    },
    replaceReferenceGrant: async (body) => {
      const call = await grantCall();
      const ref = { namespace: body.metadata.namespace!, name: body.metadata.name! };
      return write(`replace ReferenceGrant ${where(ref)}`, ({ options }) =>
        api.replaceNamespacedCustomObject({ ...call, ...ref, body: withApiVersion(body, call.version, 'ReferenceGrant') }, options),
      );
    },
    deleteReferenceGrant: async (ref, resourceVersion) => {
      const call = await grantCall();
      await remove(`delete ReferenceGrant ${where(ref)}`, ({ options }) =>
        api.deleteNamespacedCustomObject({ ...call, ...ref, ...(resourceVersion && { body: { preconditions: { resourceVersion } } }) }, options),
      );
    },
  };
}
