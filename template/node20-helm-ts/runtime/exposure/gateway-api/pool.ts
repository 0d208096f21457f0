// The shared Gateways: Gateways labelled appingress=<label> in the load balancer namespace, each
// known by its first status address. Gateways still waiting for an address are skipped.
import type { RuntimeConfig } from '../../config.js';
import { FunctionError } from '../../errors.js';
import type { ObjectRef } from '../cas-writer.js';
import type { Gateway, GatewayKube } from './kube-api.js';

export interface PoolGateway {
  ref: ObjectRef;
  /** status.addresses[0].value: the address rules on this Gateway answer on. */
  ip: string;
  /** Every address the Gateway reports; `lbip` may name any of them. */
  addresses: string[];
  /** The Gateway as listed (its resourceVersion may already be stale). */
  object: Gateway;
}

type PoolConfig = Pick<RuntimeConfig, 'loadBalancerNamespace' | 'ingressLabel'>;

export function toPoolGateway(gateway: Gateway, config: PoolConfig): PoolGateway | undefined {
  const addresses = (gateway.status?.addresses ?? []).map((a) => a.value).filter((a): a is string => Boolean(a));
  if (addresses.length === 0) return undefined;
  return {
    ref: { namespace: gateway.metadata.namespace ?? config.loadBalancerNamespace, name: gateway.metadata.name ?? '' },
    ip: addresses[0],
    addresses,
    object: gateway,
  };
}

/** The Gateways with an address, sorted by name: claims fill them in this order. */
export function poolOf(gateways: Gateway[], config: PoolConfig): PoolGateway[] {
  return gateways
    .map((g) => toPoolGateway(g, config))
    .filter((g): g is PoolGateway => g !== undefined)
    .sort((a, b) => a.ref.name.localeCompare(b.ref.name));
}

export function noPool(config: PoolConfig): FunctionError {
  return new FunctionError(
    'NO_INGRESS_CONTROLLER',
    `No Gateway with an address and label appingress=${config.ingressLabel} in namespace ${config.loadBalancerNamespace}`,
    { namespace: config.loadBalancerNamespace, labelSelector: `appingress=${config.ingressLabel}`, kind: 'Gateway' },
  );
}

/**
 * The Gateways a request may use: those with address `lbip`, or all of them.
 * None at all -> NO_INGRESS_CONTROLLER (503); an lbip no Gateway has -> INGRESS_CONTROLLER_NOT_FOUND (404).
 */
export async function selectPool({
  kube,
  config,
  lbip,
  fresh = false,
}: {
  kube: GatewayKube;
  config: PoolConfig;
  lbip?: string;
  /** See GatewayKube.listGateways. */
  fresh?: boolean;
}): Promise<PoolGateway[]> {
  const all = poolOf(await kube.listGateways({ namespace: config.loadBalancerNamespace, labelSelector: `appingress=${config.ingressLabel}`, fresh }), config);
  if (all.length === 0) throw noPool(config);
  if (lbip === undefined) return all;
  const match = all.filter((g) => g.addresses.some((a) => a.toLowerCase() === lbip.toLowerCase()));
  if (match.length === 0) {
    throw new FunctionError('INGRESS_CONTROLLER_NOT_FOUND', `No Gateway has the address ${lbip}`, { lbip, known: all.map((g) => g.ip) });
  }
  return match;
}
