// Gateways as the gateway-api exposure functions expect them, for an emulated cluster: in one
// namespace, each labelled appingress=<IngressLabel> and with one HTTP listener (a Gateway needs
// at least one). The emulator's Gateway controller gives each an address from the LoadBalancer
// pool; createGateways waits for it.
import type { Cluster } from './cluster/index.js';

export interface GatewayFixtureOptions {
  /** Namespace of the Gateways, created when missing; default gateway-system. */
  namespace?: string;
  /** IngressLabel (value of the appingress label); default gateway. */
  label?: string;
  /** Names of the Gateways to create; default one, `gateway`. */
  names?: readonly string[];
  gatewayClassName?: string;
  /** The listeners each Gateway starts with; default one HTTP listener on port 80. */
  listeners?: readonly object[];
  /** How long to wait for the addresses; default 5000 ms. */
  timeoutMs?: number;
}

export const GATEWAY_DEFAULTS = {
  namespace: 'gateway-system',
  label: 'gateway',
  names: ['gateway'],
  gatewayClassName: 'example',
  listeners: [{ name: 'http', protocol: 'HTTP', port: 80 }],
  timeoutMs: 5000,
} as const;

export function gatewayObjects(options: GatewayFixtureOptions = {}): object[] {
  const o = { ...GATEWAY_DEFAULTS, ...options };
  return o.names.map((name) => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name, namespace: o.namespace, labels: { appingress: o.label } },
    spec: { gatewayClassName: o.gatewayClassName, listeners: structuredClone(o.listeners) },
  }));
}

/** Creates the Gateways and returns their addresses, in the order of `names`. */
export async function createGateways(cluster: Cluster, options: GatewayFixtureOptions = {}): Promise<string[]> {
  const o = { ...GATEWAY_DEFAULTS, ...options };
  if (!cluster.store.get({ resource: 'namespaces', name: o.namespace })) {
    cluster.store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: o.namespace } });
  }
  for (const gateway of gatewayObjects(o)) cluster.store.create(gateway);
  const address = (name: string): string | undefined =>
    cluster.store.get({ group: 'gateway.networking.k8s.io', resource: 'gateways', namespace: o.namespace, name })?.status?.addresses?.[0]?.value;
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const addresses = o.names.map(address);
    if (addresses.every((a) => a)) return addresses as string[];
    if (Date.now() > deadline) {
      throw new Error(`Gateways without an address after ${o.timeoutMs} ms: ${o.names.filter((_, i) => !addresses[i]).join(', ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
