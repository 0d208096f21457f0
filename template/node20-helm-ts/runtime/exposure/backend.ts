// What every exposure backend offers: an external TCP/UDP port on a shared address forwarded to a
// Service port. The functions' HTTP API is written against this and does not know which backend
// (ingress-nginx ConfigMaps or Gateway API listeners and routes) is behind it.
import type { ExposureBackendName, PortRange } from '../config.js';

export type Protocol = 'tcp' | 'udp';
export const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp'];

/** A backend: the Service port that an external port forwards to. */
export interface Target {
  namespace: string;
  serviceName: string;
  /** Number, or a named Service port (ingress-nginx accepts both in entries made by hand). */
  servicePort: number | string;
}

/** One exposed port on one address. */
export interface Rule extends Target {
  ip: string;
  port: number;
  protocol: Protocol;
}

export interface ClaimRequest extends Target {
  protocol: Protocol;
  /** A specific external port; otherwise the lowest free one. */
  port?: number;
  /** The external address to use; otherwise the backend picks one. */
  lbip?: string;
}

export interface ClaimResult extends Rule {
  /** false when the backend already had this port (repeated call). */
  created: boolean;
  /** Set when the claim could not go where it normally would (a full Gateway): says where it went. */
  notice?: string;
}

export interface DeleteRequest {
  /** By external port... */
  port?: number;
  /** ...and/or by backend (servicePort narrows further). */
  namespace?: string;
  serviceName?: string;
  servicePort?: number | string;
  /** Omitted: both protocols. */
  protocol?: Protocol;
  /** Omitted: every address. */
  lbip?: string;
  /** Rules whose target namespace this refuses are left alone (namespace allow-list). */
  namespaceAllowed?: (namespace: string) => boolean;
}

/** A change repair made (or would make) beyond removing rules. */
export interface RepairFix {
  ip: string;
  protocol: Protocol;
  port: number;
  /** added: something the rule needs was missing; removed: something no rule needs was left over. */
  action: 'added' | 'removed';
  /** What was added or removed: a controller Service port, a Gateway listener or a route. */
  object?: 'service-port' | 'listener' | 'route';
  /** gateway-api: the Gateway (`namespace/name`); `ip` is empty when that Gateway has no address (any more). */
  gateway?: string;
}

export interface RepairResult {
  dryRun: boolean;
  /** Rules whose backend Service (or its namespace) no longer exists: removed, or to remove. */
  removed: (Rule & { reason: 'ServiceNotFound' })[];
  fixed: RepairFix[];
}

export interface ExposureBackend {
  readonly name: ExposureBackendName;
  /** The lowest free port, without claiming it (another call may take it first). */
  lookup(request: { protocol: Protocol; lbip?: string }): Promise<{ ip: string; port: number; protocol: Protocol }>;
  /** Race-free and idempotent: a backend already exposed keeps its port. */
  claim(request: ClaimRequest): Promise<ClaimResult>;
  /** Deletes every rule matching all given fields; deleting what does not exist answers []. */
  remove(request: DeleteRequest): Promise<Rule[]>;
  list(request?: { lbip?: string }): Promise<Rule[]>;
  /** A dry run unless `dryRun: false`. */
  repair(request?: { dryRun?: boolean }): Promise<RepairResult>;
}

export function compareRules(a: Pick<Rule, 'ip' | 'protocol' | 'port'>, b: Pick<Rule, 'ip' | 'protocol' | 'port'>): number {
  return a.ip.localeCompare(b.ip) || a.protocol.localeCompare(b.protocol) || a.port - b.port;
}

export function sameTarget(a: Target, b: Target): boolean {
  return a.namespace === b.namespace && a.serviceName === b.serviceName && String(a.servicePort) === String(b.servicePort);
}

/** Whether a rule matches every field given in a delete request. */
export function matchesDelete(request: DeleteRequest, { port, target }: { port: number; target: Target }): boolean {
  return (
    (request.namespaceAllowed === undefined || request.namespaceAllowed(target.namespace)) &&
    (request.port === undefined || port === request.port) &&
    (request.namespace === undefined || target.namespace === request.namespace) &&
    (request.serviceName === undefined || target.serviceName === request.serviceName) &&
    (request.servicePort === undefined ||
      sameTarget(target, { namespace: target.namespace, serviceName: target.serviceName, servicePort: request.servicePort }))
  );
}

export function inRange(port: number, range: PortRange): boolean {
  return port >= range.from && port <= range.to;
}

/** `<namespace>/<service>:<port>`, the form ingress-nginx entries use; also how rules are recorded elsewhere. */
export function formatTarget(target: Target): string {
  return `${target.namespace}/${target.serviceName}:${target.servicePort}`;
}

const TARGET = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9]*[a-z0-9])?):([^:\s]+)$/;

/** The target written by formatTarget, or undefined for anything malformed. */
export function parseTarget(value: string): Target | undefined {
  const m = TARGET.exec(value.trim());
  if (!m) return undefined;
  const rawPort = m[5];
  let servicePort: number | string = rawPort;
  if (/^\d+$/.test(rawPort)) {
    servicePort = Number(rawPort);
    if (servicePort < 1 || servicePort > 65535) return undefined;
  }
  return { namespace: m[1], serviceName: m[3], servicePort };
}

/** Name of what is opened for one rule (controller Service port, Gateway listener): `tcp-30000`, `udp-30000`. */
export function portName(protocol: Protocol, port: number): string {
  return `${protocol}-${port}`;
}

/** The protocol and port encoded in a name of that scheme, else undefined. */
export function parsePortName(name: string | undefined): { protocol: Protocol; port: number } | undefined {
  const m = /^(tcp|udp)-([1-9]\d{0,4})$/.exec(name ?? '');
  if (!m) return undefined;
  const port = Number(m[2]);
  return port <= 65535 ? { protocol: m[1] as Protocol, port } : undefined;
}
