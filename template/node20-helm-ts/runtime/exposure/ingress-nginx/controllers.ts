// Ingress controllers: LoadBalancer Services labelled appingress=<label>, each known by its external IP.
import type { V1Service } from '@kubernetes/client-node';
import type { RuntimeConfig } from '../../config.js';
import { FunctionError } from '../../errors.js';
import type { IngressKube, ObjectRef } from './kube-api.js';
import { parsePortName, type Protocol } from './entries.js';

/** Per-controller override of the ConfigMap names: `<name>` (Service's namespace) or `<namespace>/<name>`. */
export const CONFIGMAP_ANNOTATION: Record<Protocol, string> = {
  tcp: 'helm-deployer.openfaas.com/tcp-services-configmap',
  udp: 'helm-deployer.openfaas.com/udp-services-configmap',
};

export interface Controller {
  /** The controller's LoadBalancer Service. */
  service: ObjectRef;
  /** First address of status.loadBalancer.ingress (ip, else hostname). */
  ip: string;
  /** Every address the load balancer reports; `lbip` may name any of them. */
  addresses: string[];
  configMaps: Record<Protocol, ObjectRef>;
  /**
   * Port numbers open on the Service under names outside our `tcp-<port>`/`udp-<port>` scheme (http,
   * https, ports added by hand), per protocol. Ports of our scheme follow the ConfigMaps instead.
   */
  foreignPorts: Record<Protocol, Set<number>>;
  /** The Service as it was read: a reconcile of its ports may start from it instead of reading it again. */
  object?: V1Service;
}

type DiscoveryConfig = Pick<RuntimeConfig, 'loadBalancerNamespace' | 'ingressLabel' | 'tcpServicesConfigMap' | 'udpServicesConfigMap'>;

function configMapRef(service: V1Service, protocol: Protocol, fallback: string): ObjectRef {
  const namespace = service.metadata?.namespace ?? '';
  const value = service.metadata?.annotations?.[CONFIGMAP_ANNOTATION[protocol]]?.trim() || fallback;
  const slash = value.indexOf('/');
  return slash < 0 ? { namespace, name: value } : { namespace: value.slice(0, slash), name: value.slice(slash + 1) };
}

export function toController(service: V1Service, config: DiscoveryConfig): Controller | undefined {
  const addresses = (service.status?.loadBalancer?.ingress ?? [])
    .map((i) => i.ip || i.hostname)
    .filter((a): a is string => Boolean(a));
  if (addresses.length === 0) return undefined;
  const foreignPorts: Record<Protocol, Set<number>> = { tcp: new Set(), udp: new Set() };
  for (const p of service.spec?.ports ?? []) {
    const protocol = (p.protocol ?? 'TCP').toLowerCase();
    if ((protocol === 'tcp' || protocol === 'udp') && !parsePortName(p.name)) foreignPorts[protocol].add(p.port);
  }
  return {
    service: { namespace: service.metadata?.namespace ?? config.loadBalancerNamespace, name: service.metadata?.name ?? '' },
    ip: addresses[0],
    addresses,
    configMaps: {
      tcp: configMapRef(service, 'tcp', config.tcpServicesConfigMap),
      udp: configMapRef(service, 'udp', config.udpServicesConfigMap),
    },
    foreignPorts,
    object: service,
  };
}

/** Controllers sorted by Service name; Services still waiting for an address are skipped. */
export async function listControllers({ kube, config }: { kube: IngressKube; config: DiscoveryConfig }): Promise<Controller[]> {
  const services = await kube.listServices({
    namespace: config.loadBalancerNamespace,
    labelSelector: `appingress=${config.ingressLabel}`,
  });
  return services
    .filter((s) => s.spec?.type === 'LoadBalancer')
    .map((s) => toController(s, config))
    .filter((c): c is Controller => c !== undefined)
    .sort((a, b) => a.service.name.localeCompare(b.service.name));
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * The controllers a request may use: the one with address `lbip`, or all of them.
 * None at all -> NO_INGRESS_CONTROLLER (503); an lbip no controller has -> INGRESS_CONTROLLER_NOT_FOUND (404).
 */
export async function selectControllers({
  kube,
  config,
  lbip,
}: {
  kube: IngressKube;
  config: DiscoveryConfig;
  lbip?: string;
}): Promise<Controller[]> {
  const all = await listControllers({ kube, config });
  if (all.length === 0) {
    throw new FunctionError(
      'NO_INGRESS_CONTROLLER',
      `No LoadBalancer Service with an external address and label appingress=${config.ingressLabel} in namespace ${config.loadBalancerNamespace}`,
      { namespace: config.loadBalancerNamespace, labelSelector: `appingress=${config.ingressLabel}` },
    );
  }
  if (lbip === undefined) return all;
  const match = all.filter((c) => c.addresses.some((a) => sameAddress(a, lbip)));
  if (match.length === 0) {
    throw new FunctionError('INGRESS_CONTROLLER_NOT_FOUND', `No ingress controller has the address ${lbip}`, {
      lbip,
      known: all.map((c) => c.ip),
    });
  }
  return match;
}
