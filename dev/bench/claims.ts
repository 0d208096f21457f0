// One benchmark scenario: N concurrent port claims against a fresh emulated cluster.
import { startCluster } from '../cluster/index.js';
import { loadConfig } from '#runtime/config.js';
import { createIngress } from '#runtime/exposure/ingress-nginx/index.js';

export interface Scenario {
  claims: number;
  /** Coalesce writes inside each instance, or run one CAS loop per claim. */
  coalesce: boolean;
  /** Independent instances (like function replicas) sharing the claims round-robin. */
  instances: number;
  /** Extra latency the emulated API server adds to every request. */
  latencyMs: number;
}

export interface Outcome extends Scenario {
  ms: number;
  succeeded: number;
  failed: number;
  distinctPorts: number;
  claimsPerSecond: number;
  configMapWrites: number;
  serviceWrites: number;
  conflicts: number;
  requests: number;
  /** The ConfigMap and the controller Service list the same ports at the end. */
  consistent: boolean;
  /** Claims answered with a port another claim also got. */
  duplicates: number;
  /** ConfigMap CAS rounds a claim took after its first (each after a 409): mean and max over claims. */
  retriesMean: number;
  retriesMax: number;
}

const NAMESPACE = 'ingress-nginx';

/** The backends `tenants/svc-0..count-1` (TCP 5432): a claim checks that its Service exists and has the port. */
export function backendServices(count: number): object[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tenants' } },
    ...Array.from({ length: count }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `svc-${i}`, namespace: 'tenants' },
      spec: { ports: [{ port: 5432, protocol: 'TCP' }] },
    })),
  ];
}

export async function runScenario(scenario: Scenario): Promise<Outcome> {
  const cluster = await startCluster({
    seed: [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'ingress-nginx-controller', namespace: NAMESPACE, labels: { appingress: 'bench' } },
        spec: {
          type: 'LoadBalancer',
          ports: [
            { name: 'http', port: 80, targetPort: 80, protocol: 'TCP' },
            { name: 'https', port: 443, targetPort: 443, protocol: 'TCP' },
          ],
        },
      },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'tcp-services', namespace: NAMESPACE }, data: {} },
      ...backendServices(scenario.claims),
    ],
  });
  try {
    const config = {
      ...loadConfig({ KUBECONFIG: cluster.kubeconfigPath, IngressLabel: 'bench', LoadBalancerNamespace: NAMESPACE }),
      portRange: { from: 20000, to: 29999 },
    };
    // Naive claims need far more CAS rounds than the default bound to all get through.
    const cas = scenario.coalesce ? {} : { attempts: 100_000 };
    const instances = Array.from({ length: scenario.instances }, () => createIngress({ config, coalesce: scenario.coalesce, cas }));
    if (scenario.latencyMs > 0) cluster.faults.delay({ ms: scenario.latencyMs });
    cluster.requests.reset();

    const started = performance.now();
    const results = await Promise.allSettled(
      Array.from({ length: scenario.claims }, (_, i) =>
        instances[i % instances.length].claim({ namespace: 'tenants', serviceName: `svc-${i}`, servicePort: 5432, protocol: 'tcp' }),
      ),
    );
    const ms = performance.now() - started;
    cluster.faults.clear();

    const ports = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.port] : []));
    const writes = (resource: string) =>
      cluster.requests.count({ verb: 'update', resource }) + cluster.requests.count({ verb: 'create', resource });
    const data = (cluster.store.get({ resource: 'configmaps', namespace: NAMESPACE, name: 'tcp-services' }) as unknown as { data?: Record<string, string> }).data ?? {};
    const service = cluster.store.get({ resource: 'services', namespace: NAMESPACE, name: 'ingress-nginx-controller' }) as unknown as {
      spec: { ports: { name?: string; port: number }[] };
    };
    const open = service.spec.ports.filter((p) => p.name?.startsWith('tcp-')).map((p) => p.port).sort((a, b) => a - b);
    const mapped = Object.keys(data).map(Number).sort((a, b) => a - b);
    return {
      ...scenario,
      ms,
      succeeded: ports.length,
      failed: results.length - ports.length,
      distinctPorts: new Set(ports).size,
      claimsPerSecond: (ports.length / ms) * 1000,
      configMapWrites: writes('configmaps'),
      serviceWrites: writes('services'),
      conflicts: cluster.requests.count({ status: 409 }),
      requests: cluster.requests.count(),
      consistent: JSON.stringify(open) === JSON.stringify(mapped) && mapped.length === ports.length,
      duplicates: ports.length - new Set(ports).size,
      retriesMean: instances.reduce((n, i) => n + i.writer.stats.retries, 0) / Math.max(1, instances.reduce((n, i) => n + i.writer.stats.operations, 0)),
      retriesMax: Math.max(...instances.map((i) => i.writer.stats.maxRetries)),
    };
  } finally {
    await cluster.stop();
  }
}
