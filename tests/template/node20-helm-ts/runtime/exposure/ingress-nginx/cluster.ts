// An emulated cluster with ingress-nginx controller Services, and views of the state tests assert on.
import { afterEach, expect } from 'vitest';
import { startCluster, type Cluster } from '../../../../../../dev/cluster/index.js';
import { loadConfig, type PortRange } from '#runtime/config.js';
import { createIngress, type Ingress, type IngressOptions } from '#runtime/exposure/ingress-nginx/index.js';

export const LB_NAMESPACE = 'ingress-nginx';
export const LABEL = 'nginx';

export interface ControllerSpec {
  name: string;
  annotations?: Record<string, string>;
}

/** A second controller in the same namespace, with its own ConfigMaps (tcp-b, udp-b). */
export const CONTROLLER_B: ControllerSpec = {
  name: 'nginx-b',
  annotations: {
    'helm-deployer.openfaas.com/tcp-services-configmap': 'tcp-b',
    'helm-deployer.openfaas.com/udp-services-configmap': `${LB_NAMESPACE}/udp-b`,
  },
};

export function controllerService({ name, annotations }: ControllerSpec): object {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: LB_NAMESPACE, labels: { appingress: LABEL }, ...(annotations && { annotations }) },
    spec: {
      type: 'LoadBalancer',
      selector: { app: name },
      ports: [
        { name: 'http', port: 80, targetPort: 80, protocol: 'TCP' },
        { name: 'https', port: 443, targetPort: 443, protocol: 'TCP' },
      ],
    },
  };
}

export const namespace = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
/** A backend Service; several ports are named p0, p1... as the API requires. */
export function service(ns: string, name: string, ports: number | { port: number; protocol?: string }[] = 5432): object {
  const list = typeof ports === 'number' ? [{ port: ports }] : ports;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: {
      selector: { app: name },
      ports: list.map((p, i) => ({ ...(list.length > 1 && { name: `p${i}` }), port: p.port, protocol: p.protocol ?? 'TCP' })),
    },
  };
}

/** A namespace and Services `<prefix>0..<count-1>` in it, all with the same ports. */
export function backends(ns: string, prefix: string, count: number, ports: Parameters<typeof service>[2] = 5432): object[] {
  return [namespace(ns), ...Array.from({ length: count }, (_, i) => service(ns, `${prefix}${i}`, ports))];
}

export async function startIngressCluster({
  controllers = [{ name: 'nginx-a' }],
  seed = [],
  lbIpPool,
}: { controllers?: ControllerSpec[]; seed?: object[]; lbIpPool?: string[] } = {}): Promise<Cluster> {
  return startCluster({ lbIpPool, seed: [namespace(LB_NAMESPACE), ...controllers.map(controllerService), ...seed] });
}

/**
 * Starts clusters for tests that each want a fresh one: seeded with `seed` and the call's own seed,
 * and stopped after the test that started them.
 */
export function clusterPerTest(seed: object[] = []): (options?: Parameters<typeof startIngressCluster>[0]) => Promise<Cluster> {
  const running = new Set<Cluster>();
  afterEach(async () => {
    const started = [...running];
    running.clear();
    await Promise.all(started.map((c) => c.stop()));
  });
  return async (options = {}) => {
    const cluster = await startIngressCluster({ ...options, seed: [...seed, ...(options.seed ?? [])] });
    running.add(cluster);
    return cluster;
  };
}

export function ingressConfig(cluster: Cluster, portRange: PortRange = { from: 30000, to: 30999 }): IngressOptions['config'] {
  return {
    ...loadConfig({ IngressLabel: LABEL, LoadBalancerNamespace: LB_NAMESPACE, KUBECONFIG: cluster.kubeconfigPath }),
    portRange,
  };
}

export function ingressFor(cluster: Cluster, options: Partial<IngressOptions> & { portRange?: PortRange } = {}): Ingress {
  return createIngress({ config: ingressConfig(cluster, options.portRange), retry: { baseDelayMs: 1, maxDelayMs: 5 }, ...options });
}

export function configMapData(cluster: Cluster, name: string): Record<string, string> | undefined {
  const cm = cluster.store.get({ resource: 'configmaps', namespace: LB_NAMESPACE, name }) as unknown as { data?: Record<string, string> } | undefined;
  return cm && (cm.data ?? {});
}

export interface PortView {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
}

export function servicePorts(cluster: Cluster, name = 'nginx-a'): PortView[] {
  const svc = cluster.store.get({ resource: 'services', namespace: LB_NAMESPACE, name }) as unknown as { spec: { ports: PortView[] } };
  return svc.spec.ports.map(({ name, port, targetPort, protocol }) => ({ name, port, targetPort, protocol }));
}

/** The ports a Service should have for these ConfigMaps: http, https and one per entry. */
export function expectedPorts(tcp: Record<string, string> = {}, udp: Record<string, string> = {}): PortView[] {
  const ours = (data: Record<string, string>, protocol: 'tcp' | 'udp') =>
    Object.keys(data).map((p) => ({ name: `${protocol}-${p}`, port: Number(p), targetPort: Number(p), protocol: protocol.toUpperCase() }));
  return [
    { name: 'http', port: 80, targetPort: 80, protocol: 'TCP' },
    { name: 'https', port: 443, targetPort: 443, protocol: 'TCP' },
    ...ours(tcp, 'tcp'),
    ...ours(udp, 'udp'),
  ];
}

const byName = (a: PortView, b: PortView) => String(a.name).localeCompare(String(b.name));

/** Service ports sorted by name (order on the Service carries no meaning). */
export const sortedPorts = (ports: PortView[]) => [...ports].sort(byName);

/** The controller Service has exactly the http and https ports and one port per ConfigMap entry. */
export function expectAgreement(cluster: Cluster, { controller = 'nginx-a', tcp = 'tcp-services', udp = 'udp-services' } = {}): void {
  expect(sortedPorts(servicePorts(cluster, controller))).toEqual(sortedPorts(expectedPorts(configMapData(cluster, tcp), configMapData(cluster, udp))));
}

export function lbIp(cluster: Cluster, name: string): string {
  const svc = cluster.store.get({ resource: 'services', namespace: LB_NAMESPACE, name }) as unknown as {
    status: { loadBalancer: { ingress: { ip: string }[] } };
  };
  return svc.status.loadBalancer.ingress[0].ip;
}
