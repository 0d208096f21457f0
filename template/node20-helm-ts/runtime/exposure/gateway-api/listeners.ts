// A rule on a shared Gateway is one listener `<protocol>-<port>` plus an annotation on the Gateway
// that names its backend (`rules.helm-deployer.openfaas.com/tcp-20000: ns/service:port`). Both are
// in one object, so one conditional write claims a port atomically, as a ConfigMap entry does for
// ingress-nginx; the annotations are the truth that the listeners and routes follow.
import type { PortRange } from '../../config.js';
import { FunctionError } from '../../errors.js';
import { RESERVED_PORTS } from '../../policy.js';
import { formatTarget, inRange, parsePortName, parseTarget, portName, sameTarget, type Protocol, type Target } from '../backend.js';
import type { CasOp } from '../cas-writer.js';
import { GROUP, type Gateway, type Listener } from './kube-api.js';

/** The most listeners one Gateway may have (the Gateway API CRD's maxItems). */
export const MAX_LISTENERS = 64;

export const RULE_ANNOTATION_PREFIX = 'rules.helm-deployer.openfaas.com/';

export type RouteNamespacePolicy = 'service' | 'gateway';

/** What claims and deletes edit: a copy of the Gateway's listeners and annotations. */
export interface GatewayState {
  /** false: the Gateway was deleted (nothing may be added to it). */
  exists: boolean;
  listeners: Listener[];
  annotations: Record<string, string>;
}

export function stateOf(gateway: Gateway | undefined): GatewayState {
  return {
    exists: gateway !== undefined,
    listeners: structuredClone(gateway?.spec.listeners ?? []),
    annotations: { ...(gateway?.metadata.annotations ?? {}) },
  };
}

export function sameState(a: GatewayState, b: GatewayState): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export const ruleAnnotation = (protocol: Protocol, port: number) => RULE_ANNOTATION_PREFIX + portName(protocol, port);

export const routeKind = (protocol: Protocol) => (protocol === 'tcp' ? 'TCPRoute' : 'UDPRoute') as 'TCPRoute' | 'UDPRoute';

const wireProtocol = (protocol: Protocol) => (protocol === 'tcp' ? 'TCP' : 'UDP');

export interface RecordedRule {
  protocol: Protocol;
  port: number;
  target: Target;
  /** The annotation's raw value. */
  value: string;
}

/** The rules recorded in a Gateway's annotations, sorted by protocol and port. */
export function recordedRules(annotations: Record<string, string> | undefined): RecordedRule[] {
  const out: RecordedRule[] = [];
  for (const [key, value] of Object.entries(annotations ?? {})) {
    if (!key.startsWith(RULE_ANNOTATION_PREFIX)) continue;
    const name = parsePortName(key.slice(RULE_ANNOTATION_PREFIX.length));
    const target = parseTarget(value);
    if (name && target) out.push({ ...name, target, value });
  }
  return out.sort((a, b) => a.protocol.localeCompare(b.protocol) || a.port - b.port);
}

/** The listener a rule needs; it admits only the rule's route kind from the namespace the route lives in. */
export function ruleListener(protocol: Protocol, port: number, target: Target, routes: RouteNamespacePolicy): Listener {
  return {
    name: portName(protocol, port),
    protocol: wireProtocol(protocol),
    port,
    allowedRoutes: {
      namespaces:
        routes === 'gateway'
          ? { from: 'Same' }
          : { from: 'Selector', selector: { matchLabels: { 'kubernetes.io/metadata.name': target.namespace } } },
      kinds: [{ group: GROUP, kind: routeKind(protocol) }],
    },
  };
}

/** Whether the listener carries `protocol` (listener protocols are upper case: TCP, UDP, HTTP...). */
export const carries = (listener: Listener, protocol: Protocol) => listener.protocol.toUpperCase() === wireProtocol(protocol);

/** Whether a listener of any name already serves port+protocol (the API server refuses a second one). */
export function portInUse(listeners: readonly Listener[], protocol: Protocol, port: number): boolean {
  return listeners.some((l) => l.port === port && carries(l, protocol));
}

function isFree(state: GatewayState, protocol: Protocol, port: number, range: PortRange, blocked: ReadonlySet<number>): boolean {
  return (
    inRange(port, range) &&
    !RESERVED_PORTS.includes(port) &&
    !blocked.has(port) &&
    !portInUse(state.listeners, protocol, port) &&
    !(ruleAnnotation(protocol, port) in state.annotations)
  );
}

export function lowestFree(state: GatewayState, protocol: Protocol, range: PortRange, blocked: ReadonlySet<number>): number | undefined {
  if (state.listeners.length >= MAX_LISTENERS) return undefined;
  for (let port = range.from; port <= range.to; port++) {
    if (isFree(state, protocol, port, range, blocked)) return port;
  }
  return undefined;
}

/**
 * Whether `have` says everything `want` says: the same values for every field `want` sets, at any
 * depth. Fields only `have` has (defaults the API server filled in) do not count.
 */
export function contains(have: unknown, want: unknown): boolean {
  if (Array.isArray(want)) {
    return Array.isArray(have) && have.length === want.length && want.every((w, i) => contains(have[i], w));
  }
  if (want && typeof want === 'object') {
    if (!have || typeof have !== 'object' || Array.isArray(have)) return false;
    return Object.entries(want).every(([k, w]) => w === undefined || contains((have as Record<string, unknown>)[k], w));
  }
  return have === want;
}

/** Puts back the listener of a recorded rule if it went missing (and fixes it if it was edited). */
function restoreListener(state: GatewayState, protocol: Protocol, port: number, target: Target, routes: RouteNamespacePolicy): void {
  const wanted = ruleListener(protocol, port, target, routes);
  const i = state.listeners.findIndex((l) => l.name === wanted.name);
  if (i < 0) state.listeners.push(wanted);
  else if (!contains(state.listeners[i], wanted)) state.listeners[i] = { ...state.listeners[i], ...wanted };
}

/**
 * Why a Gateway cannot take a claim that another Gateway of the pool might: no room (listeners or
 * ports). The claim moves on to the next Gateway; only when every one refuses does the caller see
 * NO_FREE_PORT or PORT_TAKEN.
 */
export class GatewayRefused extends Error {
  constructor(
    readonly reason: 'full' | 'no-free-port' | 'port-taken' | 'gone',
    readonly error: FunctionError,
  ) {
    super(error.message);
  }
}

export function fullRefusal(where: string, listeners: number): GatewayRefused {
  return new GatewayRefused(
    'full',
    new FunctionError('NO_FREE_PORT', `Gateway ${where} has ${MAX_LISTENERS} listeners, the most a Gateway may have`, {
      gateway: where,
      listeners,
    }),
  );
}

/**
 * The Gateway edit of one claim. Idempotent: a backend already recorded (on `port`, when given)
 * keeps its port. Edits the state only on success.
 */
export function claimOp({
  target,
  protocol,
  port,
  range,
  blocked,
  routes,
  where,
}: {
  target: Target;
  protocol: Protocol;
  port?: number;
  range: PortRange;
  /** Ports this protocol already uses on other Gateways with the same address. */
  blocked: ReadonlySet<number>;
  routes: RouteNamespacePolicy;
  /** For messages: `ns/name (address)`. */
  where: string;
}): CasOp<GatewayState, { port: number; created: boolean }> {
  return (state) => {
    if (!state.exists) {
      throw new GatewayRefused('gone', new FunctionError('INGRESS_CONTROLLER_NOT_FOUND', `Gateway ${where} was deleted`, { gateway: where }));
    }
    const recorded = recordedRules(state.annotations).filter((r) => r.protocol === protocol);
    const mine = recorded.find((r) => sameTarget(r.target, target) && (port === undefined || r.port === port));
    if (mine) {
      restoreListener(state, protocol, mine.port, target, routes);
      return { port: mine.port, created: false };
    }
    if (state.listeners.length >= MAX_LISTENERS) throw fullRefusal(where, state.listeners.length);
    let chosen = port;
    if (chosen !== undefined) {
      const owner = state.annotations[ruleAnnotation(protocol, chosen)];
      if (owner !== undefined || portInUse(state.listeners, protocol, chosen) || blocked.has(chosen)) {
        throw new GatewayRefused(
          'port-taken',
          new FunctionError('PORT_TAKEN', `Port ${chosen}/${protocol} on Gateway ${where} is already used${owner ? ` by ${owner}` : ''}`, {
            gateway: where,
            port: chosen,
            protocol,
            ...(owner && { backend: owner }),
          }),
        );
      }
    } else {
      chosen = lowestFree(state, protocol, range, blocked);
      if (chosen === undefined) {
        throw new GatewayRefused(
          'no-free-port',
          new FunctionError('NO_FREE_PORT', `No free ${protocol} port left in ${range.from}-${range.to} on Gateway ${where}`, {
            gateway: where,
            protocol,
            range,
          }),
        );
      }
    }
    state.annotations[ruleAnnotation(protocol, chosen)] = formatTarget(target);
    state.listeners.push(ruleListener(protocol, chosen, target, routes));
    return { port: chosen, created: true };
  };
}

/** Removes the recorded rules matching `match` with their listeners; edits the state only by removing. */
export function removeOp(match: (rule: RecordedRule) => boolean): CasOp<GatewayState, RecordedRule[]> {
  return (state) => {
    const removed = recordedRules(state.annotations).filter(match);
    for (const rule of removed) {
      delete state.annotations[ruleAnnotation(rule.protocol, rule.port)];
      const name = portName(rule.protocol, rule.port);
      state.listeners = state.listeners.filter((l) => l.name !== name);
    }
    return removed;
  };
}

/**
 * Makes listeners follow the annotations: restores missing listeners of recorded rules and drops
 * listeners named by our scheme that no annotation records. Other listeners are left alone.
 */
export function alignOp(routes: RouteNamespacePolicy): CasOp<GatewayState, { protocol: Protocol; port: number; action: 'added' | 'removed' }[]> {
  return (state) => {
    const changes: { protocol: Protocol; port: number; action: 'added' | 'removed' }[] = [];
    const recorded = recordedRules(state.annotations);
    const names = new Set(recorded.map((r) => portName(r.protocol, r.port)));
    for (const listener of state.listeners) {
      const ours = parsePortName(listener.name);
      if (ours && !names.has(listener.name)) changes.push({ ...ours, action: 'removed' });
    }
    state.listeners = state.listeners.filter((l) => !parsePortName(l.name) || names.has(l.name));
    for (const rule of recorded) {
      if (!state.listeners.some((l) => l.name === portName(rule.protocol, rule.port))) {
        changes.push({ protocol: rule.protocol, port: rule.port, action: 'added' });
      }
      restoreListener(state, rule.protocol, rule.port, rule.target, routes);
    }
    return changes;
  };
}
