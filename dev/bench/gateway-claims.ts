// The Gateway API backend: N concurrent claims over shared Gateways (64 listeners each, so 200
// claims fill three and spill into a fourth), and what one claim costs in Kubernetes requests.
// Against a fresh emulated cluster whose Gateway controller rewrites each Gateway's status as
// routes attach, as a real implementation does (so some Gateway writes meet a 409).
import { startCluster } from '../cluster/index.js';
import { gatewayObjects } from '../gateway-fixture.js';
import { backendServices } from './claims.js';
import { loadConfig } from '#runtime/config.js';
import { createGatewayBackend } from '#runtime/exposure/gateway-api/index.js';

export interface GatewayClaimsOutcome {
  claims: number;
  gateways: number;
  ms: number;
  succeeded: number;
  claimsPerSecond: number;
  /** Claims answered with an address and port another claim also got. */
  duplicates: number;
  /** Claims whose answer said a full Gateway passed them on. */
  spilled: number;
  gatewayWrites: number;
  conflicts: number;
  requestsPerClaim: number;
  retriesMean: number;
  retriesMax: number;
  /** Requests of one more claim made alone afterwards, by kind. */
  single: string[];
}

const NAMESPACE = 'gateways';
const LABEL = 'bench';

export async function benchGatewayClaims(claims: number, gateways: number): Promise<GatewayClaimsOutcome> {
  const names = Array.from({ length: gateways }, (_, i) => `shared-${i}`);
  const cluster = await startCluster({
    seed: [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } },
      ...gatewayObjects({ namespace: NAMESPACE, label: LABEL, names }),
      ...backendServices(claims + 1),
    ],
  });
  try {
    const config = {
      ...loadConfig({ KUBECONFIG: cluster.kubeconfigPath, IngressLabel: LABEL, LoadBalancerNamespace: NAMESPACE, EXPOSURE_BACKEND: 'gateway-api' }),
      portRange: { from: 20000, to: 29999 },
    };
    const backend = createGatewayBackend({ config });
    await backend.kube.versions();
    cluster.requests.reset();
    const claim = (i: number) => backend.claim({ namespace: 'tenants', serviceName: `svc-${i}`, servicePort: 5432, protocol: 'tcp' });

    const started = performance.now();
    const results = await Promise.allSettled(Array.from({ length: claims }, (_, i) => claim(i)));
    const ms = performance.now() - started;
    const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const outcome = {
      claims,
      gateways,
      ms,
      succeeded: ok.length,
      claimsPerSecond: (ok.length / ms) * 1000,
      duplicates: ok.length - new Set(ok.map((r) => `${r.ip}:${r.port}`)).size,
      spilled: ok.filter((r) => r.notice !== undefined).length,
      gatewayWrites: cluster.requests.count({ verb: 'update', resource: 'gateways' }),
      conflicts: cluster.requests.count({ status: 409 }),
      requestsPerClaim: cluster.requests.count() / claims,
      retriesMean: backend.writer.stats.retries / Math.max(1, backend.writer.stats.operations),
      retriesMax: backend.writer.stats.maxRetries,
    };
    cluster.requests.reset();
    await claim(claims);
    const single = cluster.requests.entries.map((e) => `${e.verb} ${e.resource}`).sort();
    return { ...outcome, single };
  } finally {
    await cluster.stop();
  }
}
