// Every environment variable the functions read, parsed once into a typed object.

export interface PortRange {
  from: number;
  to: number;
}

export type ExposureBackendName = 'ingress-nginx' | 'gateway-api';

export interface RuntimeConfig {
  /** How rules are made: ingress-nginx tcp/udp ConfigMaps (default) or Gateway API listeners and routes. */
  exposureBackend: ExposureBackendName;
  /**
   * Gateway API: where a rule's TCPRoute/UDPRoute lives. `service` (default): in the Service's
   * namespace, and the listener admits routes from that namespace only. `gateway`: in the Gateway's
   * namespace (for Gateways whose listeners may only admit routes from their own namespace), with a
   * ReferenceGrant in the Service's namespace that lets the route reach that Service.
   */
  gatewayRouteNamespace: 'service' | 'gateway';
  /** Namespace holding the ingress controller LoadBalancer Services (seed: LoadBalancerNamespace). */
  loadBalancerNamespace: string;
  /** Value of the `appingress` label that marks ingress controller Services (seed: IngressLabel). */
  ingressLabel: string;
  /** Default tcp/udp services ConfigMap names (in loadBalancerNamespace), overridable per controller. */
  tcpServicesConfigMap: string;
  udpServicesConfigMap: string;
  /** External ports handed out by port claims. */
  portRange: PortRange;
  /** Base URL of the OpenFaaS gateway, used by the orchestrator to call sibling functions. */
  gatewayUrl: string;
  /** Directory of OpenFaaS secrets. */
  secretsDir: string;
  /** Name of the secret file that holds the bearer token; empty string disables auth. */
  authSecretName: string;
  /** Largest accepted request body in bytes. */
  maxBodyBytes: number;
  /** Default helm timeout in seconds (keep below the gateway's upstream timeout). */
  helmTimeoutSeconds: number;
  /** Explicit path to helm; otherwise .tools/bin/helm of a dev checkout, then PATH. */
  helmBinary?: string;
  /** Whether helm may create missing target namespaces (--create-namespace). */
  createNamespace: boolean;
  /** Allow-lists; an empty list allows everything of that kind. */
  policy: {
    repoPrefixes: string[];
    chartNames: string[];
    namespaces: string[];
    /** Allow repository hosts on loopback/private addresses (local development). */
    allowPrivateRepoHosts: boolean;
  };
  /** Passed through to helm and the Kubernetes client; unset in-cluster. */
  kubeconfig?: string;
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function bool(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  return ['1', 'true', 'yes', 'on'].includes(value.toLowerCase());
}

function int(value: string | undefined, fallback: number): number {
  const n = Number.parseInt(value ?? '', 10);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

export function parsePortRange(value: string | undefined, fallback: PortRange = { from: 30000, to: 32767 }): PortRange {
  const m = /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(value ?? '');
  if (!m) return fallback;
  const from = Number(m[1]);
  const to = Number(m[2]);
  if (from < 1 || to > 65535 || from > to) return fallback;
  return { from, to };
}

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined || value === '') return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  // A typo here would silently pick the wrong backend, so the function refuses to start.
  throw new Error(`${name} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  return {
    exposureBackend: oneOf('EXPOSURE_BACKEND', env.EXPOSURE_BACKEND, ['ingress-nginx', 'gateway-api'], 'ingress-nginx'),
    gatewayRouteNamespace: oneOf('GATEWAY_ROUTE_NAMESPACE', env.GATEWAY_ROUTE_NAMESPACE, ['service', 'gateway'], 'service'),
    loadBalancerNamespace: env.LoadBalancerNamespace || env.LOAD_BALANCER_NAMESPACE || 'ingress-nginx',
    ingressLabel: env.IngressLabel || env.INGRESS_LABEL || 'ingress-nginx',
    tcpServicesConfigMap: env.TCP_SERVICES_CONFIGMAP || 'tcp-services',
    udpServicesConfigMap: env.UDP_SERVICES_CONFIGMAP || 'udp-services',
    portRange: parsePortRange(env.PORT_RANGE),
    gatewayUrl: (env.GATEWAY_URL || 'http://gateway.openfaas:8080').replace(/\/+$/, ''),
    secretsDir: env.SECRETS_DIR || '/var/openfaas/secrets',
    authSecretName: env.AUTH_SECRET_NAME ?? 'helm-deployer-token',
    maxBodyBytes: int(env.MAX_BODY_BYTES, 1024 * 1024),
    helmTimeoutSeconds: int(env.HELM_TIMEOUT_SECONDS, 120),
    helmBinary: env.HELM_BINARY || undefined,
    createNamespace: bool(env.CREATE_NAMESPACE, true),
    policy: {
      repoPrefixes: list(env.ALLOWED_REPOS),
      chartNames: list(env.ALLOWED_CHARTS),
      namespaces: list(env.ALLOWED_NAMESPACES),
      allowPrivateRepoHosts: bool(env.ALLOW_PRIVATE_REPO_HOSTS, false),
    },
    kubeconfig: env.KUBECONFIG || undefined,
  };
}
