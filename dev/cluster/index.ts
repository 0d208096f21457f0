/**
 * An in-memory Kubernetes API server for tests, benchmarks and local runs: real HTTP, JSON (and
 * protobuf request bodies), discovery, OpenAPI v3, CRUD with optimistic concurrency, all four
 * patch types including server-side apply, watches, simple controllers, fault injection and a
 * request log. The real helm 4 binary and `@kubernetes/client-node` work against it unchanged.
 *
 * @example
 * const cluster = await startCluster();
 * await execa(helm, ['install', '--namespace=default', '--', 'demo', chartDir], { env: { KUBECONFIG: cluster.kubeconfigPath } });
 * cluster.store.get({ resource: 'deployments', namespace: 'default', name: 'demo' });
 * await cluster.stop();
 */
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Controllers, defaultLbIpPool } from './controllers.js';
import { Faults } from './faults.js';
import { writeKubeconfig } from './kubeconfig.js';
import { ObjectApi, type Target } from './objects.js';
import { RequestLog } from './requests.js';
import { ResourceRegistry, splitApiVersion } from './resources.js';
import { createRequestHandler, type AuthorizationRequest } from './server.js';
import { ApiError } from './status.js';
import { Store, type KubeObject } from './store.js';

export type { KubeObject, ObjectMeta } from './store.js';
export type { AuthorizationRequest } from './server.js';
export type { InjectOptions, DelayOptions, ConflictOptions, FaultMatch, FaultRule } from './faults.js';
export type { RequestEntry, RequestFilter } from './requests.js';
export { Faults } from './faults.js';
export { RequestLog } from './requests.js';
export { ApiError } from './status.js';
export type { StatusBody } from './status.js';

export interface StartClusterOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /**
   * Addresses given to LoadBalancer Services and Gateways (one pool, first free address first);
   * default 203.0.113.10, 203.0.113.11, ... 203.0.113.250.
   */
  lbIpPool?: string[];
  /** The Gateway API as installed (experimental CRDs) and its controller. */
  gatewayApi?: GatewayApiOptions;
  /** Where to write the kubeconfig; by default a new temp file, removed by `stop()`. */
  kubeconfigPath?: string;
  /**
   * Decides every resource request (discovery, /version and OpenAPI are always allowed); false
   * answers 403 Forbidden with the real server's message. `user` is the request's bearer token
   * (the generated kubeconfig uses `emulator`).
   */
  authorize?: (request: AuthorizationRequest) => boolean;
  /** Objects created at start, in order (after the default namespaces), e.g. a controller Service. */
  seed?: object[];
  /** How many changes the watch history keeps; a watch from an older resourceVersion gets 410 Expired. Default 10000. */
  watchHistory?: number;
}

export interface GatewayApiOptions {
  /**
   * Versions serving TCPRoute and UDPRoute; default `['v1', 'v1alpha2']`. `['v1alpha2']` is a
   * cluster with CRDs from before the routes reached v1: v1 route URLs answer 404.
   */
  routeVersions?: ('v1' | 'v1alpha2')[];
  /**
   * Runs the Gateway controller (default true): Gateways get `status.addresses` (spec.addresses[0]
   * when set, else from `lbIpPool`), Accepted/Programmed conditions and per-listener
   * attachedRoutes. When false, Gateways keep the CRD's "Waiting for controller" status and never
   * get an address.
   */
  controller?: boolean;
}

/**
 * Which object(s) a test means. `resource` is the plural (`configmaps`), the singular, a short
 * name (`cm`) or the kind (`ConfigMap`); `group` is only needed when that is ambiguous, `version`
 * only picks the `apiVersion` written in the answer (default: the preferred version).
 * Namespaced lookups without `namespace` mean all namespaces for `list` and `default` otherwise.
 */
export interface ObjectRef {
  group?: string;
  version?: string;
  resource: string;
  namespace?: string;
  name?: string;
}

/**
 * Direct access to the stored objects, bypassing HTTP, faults, authorization and the request log
 * (but not validation, controllers or watches: a write here is seen by watchers like any other).
 * Objects returned are copies with `kind` and `apiVersion` set.
 */
export interface ClusterStore {
  /** The object, or undefined when it does not exist. */
  get(ref: ObjectRef & { name: string }): KubeObject | undefined;
  /** Objects of one type, sorted by namespace and name. */
  list(ref: ObjectRef, options?: { labelSelector?: string; fieldSelector?: string }): KubeObject[];
  /** Creates an object (type from `apiVersion` and `kind`); throws {@link ApiError} (409 AlreadyExists, 422 Invalid...). */
  create(object: object): KubeObject;
  /** Replaces an object; `metadata.resourceVersion`, when set, must match (else 409 Conflict). */
  update(object: object): KubeObject;
  /** Deletes an object (and what it owns); false when it did not exist. */
  delete(ref: ObjectRef & { name: string }): boolean;
  /** The current global resourceVersion. */
  readonly resourceVersion: string;
}

export interface Cluster {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** A kubeconfig file for this cluster (for helm's KUBECONFIG and client-node's `loadFromFile`). */
  kubeconfigPath: string;
  /** Ends open watches, closes the server and removes the generated kubeconfig. */
  stop(): Promise<void>;
  store: ClusterStore;
  /** Fault injection: `inject`, `delay`, `conflictNext`, `clear`, `list`. */
  faults: Faults;
  /** Every request answered: `entries`, `count(filter)`, `filter(filter)`, `counters()`, `reset()`. */
  requests: RequestLog;
}

export const defaultNamespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

function targetOf(registry: ResourceRegistry, ref: ObjectRef, forList = false): Target {
  const type = registry.resolve(ref);
  const version = ref.version ?? type.versions[0];
  const namespace = type.namespaced ? (ref.namespace ?? (forList ? undefined : 'default')) : undefined;
  return { type, version, namespace, name: ref.name };
}

function targetOfObject(registry: ResourceRegistry, object: KubeObject): Target {
  if (!object || typeof object !== 'object' || !object.apiVersion || !object.kind) throw new Error('store: the object needs apiVersion and kind');
  const type = registry.byKind(object.apiVersion, object.kind);
  if (!type) throw new Error(`store: no resource serves ${object.apiVersion} ${object.kind}`);
  const { version } = splitApiVersion(object.apiVersion);
  const namespace = type.namespaced ? (object.metadata?.namespace ?? 'default') : undefined;
  return { type, version, namespace, name: object.metadata?.name };
}

function createStore(registry: ResourceRegistry, store: Store, objects: ObjectApi): ClusterStore {
  return {
    get(ref) {
      try {
        return objects.get(targetOf(registry, ref));
      } catch (error) {
        if (error instanceof ApiError && error.code === 404) return undefined;
        throw error;
      }
    },
    list(ref, options = {}) {
      return (objects.list(targetOf(registry, ref, true), options).items as KubeObject[]);
    },
    create(object) {
      const target = targetOfObject(registry, object as KubeObject);
      return objects.create({ ...target, name: undefined }, object).body as KubeObject;
    },
    update(object) {
      return objects.update(targetOfObject(registry, object as KubeObject), object).body as KubeObject;
    },
    delete(ref) {
      try {
        objects.delete(targetOf(registry, ref));
        return true;
      } catch (error) {
        if (error instanceof ApiError && error.code === 404) return false;
        throw error;
      }
    },
    get resourceVersion() {
      return String(store.resourceVersion);
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Starts an emulated cluster with the default namespaces and the `kubernetes` Service. */
export async function startCluster(options: StartClusterOptions = {}): Promise<Cluster> {
  const registry = new ResourceRegistry({ gatewayRouteVersions: options.gatewayApi?.routeVersions });
  const store = new Store(options.watchHistory);
  const controllers = new Controllers(store, registry, {
    lbIpPool: options.lbIpPool ?? defaultLbIpPool(),
    gatewayController: options.gatewayApi?.controller ?? true,
  });
  const objects = new ObjectApi(store, registry, controllers);
  const faults = new Faults();
  const requests = new RequestLog();
  const clusterStore = createStore(registry, store, objects);

  for (const name of defaultNamespaces) clusterStore.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  clusterStore.create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] },
  });
  for (const object of options.seed ?? []) clusterStore.create(object);

  const watches = new Set<() => void>();
  const host = options.host ?? '127.0.0.1';
  let address = '';
  const server = createServer(
    createRequestHandler({ registry, store, objects, faults, requests, authorize: options.authorize, watches, address: () => address }),
  );
  const bound = await listen(server, options.port ?? 0, host);
  address = `${host.includes(':') ? `[${host}]` : host}:${bound.port}`;
  const url = `http://${address}`;

  let generatedDir: string | undefined;
  let kubeconfigPath = options.kubeconfigPath;
  if (!kubeconfigPath) {
    generatedDir = await mkdtemp(join(tmpdir(), 'kube-emulator-'));
    kubeconfigPath = join(generatedDir, 'kubeconfig');
  }
  await writeKubeconfig(kubeconfigPath, { server: url });

  let stopped: Promise<void> | undefined;
  return {
    url,
    kubeconfigPath,
    store: clusterStore,
    faults,
    requests,
    stop() {
      stopped ??= (async () => {
        for (const end of [...watches]) end();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        if (generatedDir) await rm(generatedDir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
