// Shared by the end-to-end tests: calling the gateway, receiving its async callbacks, and reading
// what the functions left in the emulated cluster (helm release Secrets, tcp/udp ConfigMaps,
// controller Service ports, the shared Gateway and its TCPRoutes/UDPRoutes).
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Cluster } from '../../dev/cluster/index.js';
import { GATEWAY_DEFAULTS } from '../../dev/gateway-fixture.js';
import { INGRESS_DEFAULTS } from '../../dev/ingress-fixture.js';

export interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

export function caller(gatewayUrl: string, token: string) {
  return async (path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> => {
    const res = await fetch(`${gatewayUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  };
}

export interface Callback {
  /** Path and query the callback was sent to. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface CallbackReceiver {
  /** http://127.0.0.1:<port>; any path under it is accepted. */
  url: string;
  /** The first callback received. */
  received: Promise<Callback>;
  close(): void;
}

/** A server for X-Callback-Url: it answers every callback 204 and keeps the first one. */
export async function callbackReceiver(): Promise<CallbackReceiver> {
  let resolve: (callback: Callback) => void;
  const received = new Promise<Callback>((r) => (resolve = r));
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      res.writeHead(204).end();
      resolve({ path: req.url ?? '', headers: req.headers, body });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, close: () => server.close() };
}

/** Helm's release records of one release (Secrets owner=helm,name=<release>), one per revision. */
export function releaseSecrets(cluster: Cluster, namespace: string, releaseName: string): string[] {
  return cluster.store
    .list({ resource: 'secrets', namespace }, { labelSelector: `owner=helm,name=${releaseName}` })
    .map((s) => s.metadata?.name ?? '');
}

export function ruleEntries(cluster: Cluster, protocol: 'tcp' | 'udp'): Record<string, string> {
  const name = protocol === 'tcp' ? INGRESS_DEFAULTS.tcpConfigMap : INGRESS_DEFAULTS.udpConfigMap;
  const cm = cluster.store.get({ resource: 'configmaps', namespace: INGRESS_DEFAULTS.namespace, name }) as { data?: Record<string, string> } | undefined;
  return cm?.data ?? {};
}

/** Ports of the controller Service as "<name> <port>/<PROTOCOL>". */
export function controllerPorts(cluster: Cluster): string[] {
  const svc = cluster.store.get({ resource: 'services', namespace: INGRESS_DEFAULTS.namespace, name: INGRESS_DEFAULTS.serviceName }) as unknown as {
    spec: { ports: { name: string; port: number; protocol: string }[] };
  };
  return svc.spec.ports.map((p) => `${p.name} ${p.port}/${p.protocol}`).sort();
}

export const BASE_PORTS = ['http 80/TCP', 'https 443/TCP'];

const GATEWAY_GROUP = 'gateway.networking.k8s.io';

export interface GatewayView {
  metadata: { name: string; namespace: string; annotations?: Record<string, string> };
  spec: { listeners: { name: string; protocol: string; port: number }[] };
  status: { addresses: { value: string }[]; listeners?: { name: string; attachedRoutes: number }[] };
}

/** The Gateway the dev fixture made (default: the fixture's only one). */
export function sharedGateway(cluster: Cluster, namespace: string = GATEWAY_DEFAULTS.namespace, name: string = GATEWAY_DEFAULTS.names[0]): GatewayView {
  return cluster.store.get({ group: GATEWAY_GROUP, resource: 'gateways', namespace, name }) as unknown as GatewayView;
}

export interface RouteView {
  kind: 'TCPRoute' | 'UDPRoute';
  metadata: { name: string; namespace: string };
  spec: {
    parentRefs: { namespace?: string; name: string; sectionName?: string }[];
    rules: { backendRefs: { name: string; namespace?: string; port: number }[] }[];
  };
}

/** Every TCPRoute, then every UDPRoute, in all namespaces. */
export function gatewayRoutes(cluster: Cluster): RouteView[] {
  return (['TCPRoute', 'UDPRoute'] as const).flatMap((kind) =>
    cluster.store
      .list({ group: GATEWAY_GROUP, resource: `${kind.toLowerCase()}s` })
      .map((route) => ({ ...(route as unknown as RouteView), kind })),
  );
}
