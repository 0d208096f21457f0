// One harness per exposure backend, so the same tests run against both: an emulated cluster with
// the backend's shared objects (ingress-nginx controller Services, or labelled Gateways), a backend
// instance, and a view of what the data plane would forward, read from the objects it reads.
import { afterEach } from 'vitest';
import { startCluster, type Cluster, type KubeObject } from '../../../../../dev/cluster/index.js';
import { gatewayObjects } from '../../../../../dev/gateway-fixture.js';
import { loadConfig, type PortRange } from '#runtime/config.js';
import type { ExposureBackend } from '#runtime/exposure/backend.js';
import { createGatewayBackend } from '#runtime/exposure/gateway-api/index.js';
import { createIngress } from '#runtime/exposure/ingress-nginx/index.js';
import { controllerService, namespace, LB_NAMESPACE, LABEL } from './ingress-nginx/cluster.js';

export { backends, namespace, service } from './ingress-nginx/cluster.js';
export { LB_NAMESPACE, LABEL };

export interface BackendOptions {
  portRange?: PortRange;
  coalesce?: boolean;
  cas?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number };
  routeNamespace?: 'service' | 'gateway';
}

export interface Harness {
  name: 'ingress-nginx' | 'gateway-api';
  /** The shared objects (`pools` controllers or Gateways, named a, b, ...) and `seed`. */
  start(options?: { pools?: number; seed?: object[]; gatewayApi?: NonNullable<Parameters<typeof startCluster>[0]>['gatewayApi'] }): Promise<Cluster>;
  backend(cluster: Cluster, options?: BackendOptions): ExposureBackend;
  /** `<ip> <protocol>/<port>` -> `<namespace>/<service>:<port>`: what would really be forwarded. */
  dataPlane(cluster: Cluster): Map<string, string>;
  /** Undoes the second write of a claim for this rule, as a crash between the two writes leaves it. */
  dropSecondWrite(cluster: Cluster, rule: { ip: string; protocol: 'tcp' | 'udp'; port: number }): void;
  /** Addresses of the pool in name order. */
  addresses(cluster: Cluster): string[];
}

const retry = { baseDelayMs: 1, maxDelayMs: 5 };

function configFor(cluster: Cluster, options: BackendOptions, backend: 'ingress-nginx' | 'gateway-api') {
  return {
    ...loadConfig({
      IngressLabel: LABEL,
      LoadBalancerNamespace: LB_NAMESPACE,
      KUBECONFIG: cluster.kubeconfigPath,
      EXPOSURE_BACKEND: backend,
      GATEWAY_ROUTE_NAMESPACE: options.routeNamespace,
    }),
    portRange: options.portRange ?? { from: 30000, to: 30999 },
  };
}

const poolName = (i: number) => `pool-${String.fromCharCode(97 + i)}`;

type Obj = Record<string, any>;
const spec = (o: KubeObject) => (o as Obj).spec as Obj;

export const ingressNginx: Harness = {
  name: 'ingress-nginx',
  start: ({ pools = 1, seed = [], gatewayApi } = {}) =>
    startCluster({
      gatewayApi,
      seed: [
        namespace(LB_NAMESPACE),
        ...Array.from({ length: pools }, (_, i) =>
          controllerService({
            name: poolName(i),
            annotations: {
              'helm-deployer.openfaas.com/tcp-services-configmap': `tcp-${poolName(i)}`,
              'helm-deployer.openfaas.com/udp-services-configmap': `udp-${poolName(i)}`,
            },
          }),
        ),
        ...seed,
      ],
    }),
  backend: (cluster, options = {}) => createIngress({ config: configFor(cluster, options, 'ingress-nginx'), retry, ...options }),
  dataPlane(cluster) {
    const out = new Map<string, string>();
    for (const svc of cluster.store.list({ resource: 'services', namespace: LB_NAMESPACE })) {
      const ip = (svc as Obj).status?.loadBalancer?.ingress?.[0]?.ip;
      if (!ip) continue;
      for (const protocol of ['tcp', 'udp'] as const) {
        const cm = cluster.store.get({ resource: 'configmaps', namespace: LB_NAMESPACE, name: `${protocol}-${svc.metadata.name}` });
        const open = new Set(
          (spec(svc).ports as Obj[]).filter((p) => (p.protocol ?? 'TCP') === protocol.toUpperCase()).map((p) => p.port as number),
        );
        // ingress-nginx forwards an entry only if the controller Service also has the port.
        for (const [port, value] of Object.entries(((cm as Obj | undefined)?.data ?? {}) as Record<string, string>)) {
          if (open.has(Number(port))) out.set(`${ip} ${protocol}/${port}`, value);
        }
      }
    }
    return out;
  },
  dropSecondWrite(cluster, rule) {
    const svc = cluster.store.list({ resource: 'services', namespace: LB_NAMESPACE }).find((s) => (s as Obj).status?.loadBalancer?.ingress?.[0]?.ip === rule.ip)!;
    spec(svc).ports = (spec(svc).ports as Obj[]).filter((p) => p.name !== `${rule.protocol}-${rule.port}`);
    cluster.store.update({ ...svc, metadata: { ...svc.metadata, resourceVersion: undefined } });
  },
  addresses: (cluster) =>
    cluster.store
      .list({ resource: 'services', namespace: LB_NAMESPACE })
      .filter((s) => spec(s).type === 'LoadBalancer')
      .map((s) => (s as Obj).status.loadBalancer.ingress[0].ip as string),
};

/** A Gateway of the pool (label `appingress=<label>`), with an HTTP listener unless `listeners` says otherwise. */
export function gatewayObject(name: string, listeners?: object[], label = LABEL): object {
  return gatewayObjects({ namespace: LB_NAMESPACE, label, names: [name], ...(listeners && { listeners }) })[0];
}

const routeResource = (protocol: string) => ({ group: 'gateway.networking.k8s.io', resource: protocol === 'tcp' ? 'tcproutes' : 'udproutes' });

export const gatewayApi: Harness = {
  name: 'gateway-api',
  start: ({ pools = 1, seed = [], gatewayApi } = {}) =>
    startCluster({
      gatewayApi,
      seed: [namespace(LB_NAMESPACE), ...Array.from({ length: pools }, (_, i) => gatewayObject(poolName(i))), ...seed],
    }),
  backend: (cluster, options = {}) => createGatewayBackend({ config: configFor(cluster, options, 'gateway-api'), retry, ...options }),
  dataPlane(cluster) {
    const out = new Map<string, string>();
    const routes = (['tcp', 'udp'] as const).flatMap((protocol) =>
      cluster.store.list(routeResource(protocol)).map((route) => ({ protocol, route: route as Obj })),
    );
    for (const gateway of cluster.store.list({ group: 'gateway.networking.k8s.io', resource: 'gateways', namespace: LB_NAMESPACE })) {
      const g = gateway as Obj;
      const ip = g.status?.addresses?.[0]?.value;
      if (!ip) continue;
      for (const listener of g.spec.listeners as Obj[]) {
        const protocol = String(listener.protocol).toLowerCase();
        if (protocol !== 'tcp' && protocol !== 'udp') continue;
        // The implementation forwards only routes the Gateway accepted for the listener.
        const attached = (g.status?.listeners as Obj[] | undefined)?.find((l) => l.name === listener.name)?.attachedRoutes ?? 0;
        if (attached === 0) continue;
        for (const { route } of routes.filter((r) => r.protocol === protocol)) {
          const parent = (route.spec.parentRefs as Obj[]).some(
            (p) => p.name === g.metadata.name && (p.namespace ?? route.metadata.namespace) === LB_NAMESPACE && p.sectionName === listener.name,
          );
          if (!parent) continue;
          const backend = route.spec.rules[0].backendRefs[0];
          out.set(`${ip} ${protocol}/${listener.port}`, `${backend.namespace ?? route.metadata.namespace}/${backend.name}:${backend.port}`);
        }
      }
    }
    return out;
  },
  dropSecondWrite(cluster, rule) {
    const gateway = cluster.store
      .list({ group: 'gateway.networking.k8s.io', resource: 'gateways', namespace: LB_NAMESPACE })
      .find((g) => (g as Obj).status?.addresses?.[0]?.value === rule.ip)!;
    const route = cluster.store
      .list(routeResource(rule.protocol))
      .find((r) => (r as Obj).spec.parentRefs.some((p: Obj) => p.name === gateway.metadata.name && p.sectionName === `${rule.protocol}-${rule.port}`))!;
    cluster.store.delete({ ...routeResource(rule.protocol), namespace: route.metadata.namespace, name: route.metadata.name! });
  },
  addresses: (cluster) =>
    cluster.store
      .list({ group: 'gateway.networking.k8s.io', resource: 'gateways', namespace: LB_NAMESPACE })
      .map((g) => (g as Obj).status?.addresses?.[0]?.value as string)
      .filter(Boolean),
};

export const HARNESSES: Harness[] = [ingressNginx, gatewayApi];

/** Clusters started through this are stopped after the test that started them. */
export function clustersPerTest(harness: Harness): Harness['start'] {
  const running = new Set<Cluster>();
  afterEach(async () => {
    const started = [...running];
    running.clear();
    await Promise.all(started.map((c) => c.stop()));
  });
  return async (options) => {
    const cluster = await harness.start(options);
    running.add(cluster);
    return cluster;
  };
}
