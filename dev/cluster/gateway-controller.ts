/**
 * Gateway API as a cluster with the CRDs and one implementation shows it, done synchronously like
 * the other controllers: the defaults the CRDs declare, and a Gateway controller that gives each
 * Gateway an address, Accepted and Programmed conditions, and per listener the number of
 * TCPRoutes and UDPRoutes attached to it. Route attachment follows the spec: a parentRef names
 * the Gateway (namespace defaulting to the route's) and optionally a listener (sectionName) and
 * port; the listener must carry the route's kind and admit the route's namespace
 * (allowedRoutes.namespaces, `Same` by default). Writes to routes, Namespaces (their labels feed
 * namespace selectors), Services and Gateways (both hold pool addresses) refresh every Gateway.
 */
import { gatewayGroup, type ResourceType } from './resources.js';
import type { KubeObject, Store } from './store.js';

type Obj = Record<string, any>;

export interface GatewayTypes {
  gateways: ResourceType;
  routes: ResourceType[];
  namespaces: ResourceType;
  services: ResourceType;
}

/** The route kinds a listener protocol carries, among those the emulator serves. */
const protocolKinds: Record<string, string[]> = {
  HTTP: ['HTTPRoute'],
  HTTPS: ['HTTPRoute'],
  TLS: ['TLSRoute'],
  TCP: ['TCPRoute'],
  UDP: ['UDPRoute'],
};

/** What the Gateway CRD's status default shows until a controller writes status. */
const pendingConditions = ['Accepted', 'Programmed'].map((type) => ({
  type,
  status: 'Unknown',
  reason: 'Pending',
  message: 'Waiting for controller',
  lastTransitionTime: '1970-01-01T00:00:00Z',
}));

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function objects(value: unknown): Obj[] {
  return Array.isArray(value) ? value.filter((v) => v && typeof v === 'object' && !Array.isArray(v)) : [];
}

/** The defaults the Gateway, TCPRoute and UDPRoute CRDs declare, visible when the object is read back. */
export function applyGatewayApiDefaults(type: ResourceType, object: KubeObject): void {
  const spec = object.spec;
  if (type.group !== gatewayGroup || !spec || typeof spec !== 'object') return;
  if (type.resource === 'gateways') {
    for (const listener of objects(spec.listeners)) {
      listener.allowedRoutes ??= { namespaces: { from: 'Same' } };
      if (listener.allowedRoutes && typeof listener.allowedRoutes === 'object') {
        listener.allowedRoutes.namespaces ??= { from: 'Same' };
        if (listener.allowedRoutes.namespaces && typeof listener.allowedRoutes.namespaces === 'object') listener.allowedRoutes.namespaces.from ??= 'Same';
      }
      if (listener.tls && typeof listener.tls === 'object') listener.tls.mode ??= 'Terminate';
    }
    for (const address of objects(spec.addresses)) address.type ??= 'IPAddress';
  }
  if (type.resource === 'tcproutes' || type.resource === 'udproutes') {
    for (const ref of objects(spec.parentRefs)) {
      ref.group ??= gatewayGroup;
      ref.kind ??= 'Gateway';
    }
    for (const rule of objects(spec.rules)) {
      for (const ref of objects(rule.backendRefs)) {
        ref.group ??= '';
        ref.kind ??= 'Service';
        ref.weight ??= 1;
      }
    }
  }
}

/** A metav1.LabelSelector against a set of labels; an absent selector selects nothing. */
function selects(selector: Obj | undefined, labels: Record<string, string>): boolean {
  if (!selector || typeof selector !== 'object') return false;
  const matchLabels = Object.entries((selector.matchLabels ?? {}) as Record<string, string>).every(([k, v]) => labels[k] === v);
  return matchLabels && objects(selector.matchExpressions).every((e) => {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const values: string[] = e.values ?? [];
    switch (e.operator) {
      case 'In':
        return has && values.includes(labels[e.key]);
      case 'NotIn':
        return !has || !values.includes(labels[e.key]);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      default:
        return false;
    }
  });
}

/** One parentRef of a stored route that names a Gateway. */
interface Attachment {
  route: string;
  kind: string;
  namespace: string;
  sectionName?: string;
  port?: number;
}

/** Keeps lastTransitionTime while the status stays the same, as metav1.Condition does. */
function condition(previous: Obj[] | undefined, next: Obj, generation: number | undefined): Obj {
  const old = previous?.find((c) => c?.type === next.type);
  return {
    type: next.type,
    status: next.status,
    reason: next.reason,
    message: next.message,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    lastTransitionTime: old && old.status === next.status && old.lastTransitionTime ? old.lastTransitionTime : now(),
  };
}

export class GatewayController {
  constructor(
    private readonly store: Store,
    private readonly types: GatewayTypes,
    private readonly enabled: boolean,
    /** The first pool address no other Service or Gateway holds. */
    private readonly freeAddress: (gateway: KubeObject) => string | undefined,
  ) {}

  /** Addresses Gateways hold, except `except`'s own. */
  addressesInUse(except?: KubeObject): string[] {
    return this.store
      .list(this.types.gateways)
      .filter((g) => !(except && g.metadata.namespace === except.metadata.namespace && g.metadata.name === except.metadata.name))
      .flatMap((g) => objects(g.status?.addresses).map((a) => a.value))
      .filter((v): v is string => typeof v === 'string' && v !== '');
  }

  /** Sets the status of a Gateway being written (main resource). */
  reconcile(gateway: KubeObject, previous: KubeObject | undefined): void {
    if (!this.enabled) {
      gateway.status = previous?.status ?? { conditions: structuredClone(pendingConditions) };
      return;
    }
    gateway.status = this.status(gateway, previous, this.attachments());
  }

  /** Whether a write to this type can change some Gateway's status. */
  affects(type: ResourceType): boolean {
    const watched = [this.types.namespaces, this.types.services, this.types.gateways, ...this.types.routes];
    return this.enabled && watched.some((t) => t.group === type.group && t.resource === type.resource);
  }

  /** Recomputes every Gateway's status and stores those that changed. */
  refresh(): void {
    const gateways = this.store.list(this.types.gateways);
    if (gateways.length === 0) return;
    const attachments = this.attachments();
    for (const gateway of gateways) {
      const status = this.status(gateway, gateway, attachments);
      if (JSON.stringify(status) === JSON.stringify(gateway.status)) continue;
      this.store.put(this.types.gateways, { ...structuredClone(gateway), status });
    }
  }

  private status(gateway: KubeObject, previous: KubeObject | undefined, attachments: Map<string, Attachment[]>): Obj {
    const generation = gateway.metadata.generation;
    const old: Obj = previous?.status ?? {};
    const address = this.address(gateway, previous);
    const namespace = gateway.metadata.namespace ?? '';
    const mine = attachments.get(`${namespace}/${gateway.metadata.name}`) ?? [];
    const listeners = objects(gateway.spec?.listeners).map((listener) => {
      const kinds = this.supportedKinds(listener);
      const attached = new Set(
        mine
          .filter((a) => (a.sectionName === undefined || a.sectionName === listener.name) && (a.port === undefined || a.port === listener.port))
          .filter((a) => kinds.includes(a.kind) && this.admits(listener, namespace, a.namespace))
          .map((a) => a.route),
      );
      const oldConditions = objects(old.listeners).find((l) => l.name === listener.name)?.conditions;
      const supported = kinds.length > 0;
      return {
        name: listener.name,
        supportedKinds: kinds.map((kind) => ({ group: gatewayGroup, kind })),
        attachedRoutes: attached.size,
        conditions: [
          condition(oldConditions, supported ? { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Listener is accepted' } : { type: 'Accepted', status: 'False', reason: 'UnsupportedProtocol', message: `Protocol ${listener.protocol} is not supported` }, generation),
          condition(oldConditions, supported ? { type: 'Programmed', status: 'True', reason: 'Programmed', message: 'Listener is programmed' } : { type: 'Programmed', status: 'False', reason: 'Invalid', message: 'Listener is invalid' }, generation),
          condition(oldConditions, supported ? { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'References are resolved' } : { type: 'ResolvedRefs', status: 'False', reason: 'InvalidRouteKinds', message: 'No supported route kinds' }, generation),
        ],
      };
    });
    const programmed = address
      ? { type: 'Programmed', status: 'True', reason: 'Programmed', message: 'Address assigned to the Gateway' }
      : { type: 'Programmed', status: 'False', reason: 'AddressNotAssigned', message: 'No address is free in the pool' };
    return {
      ...(address ? { addresses: [address] } : {}),
      conditions: [
        condition(old.conditions, { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Gateway is accepted' }, generation),
        condition(old.conditions, programmed, generation),
      ],
      listeners,
    };
  }

  /** The address the spec asks for, else the one the Gateway holds, else a free one from the pool. */
  private address(gateway: KubeObject, previous: KubeObject | undefined): Obj | undefined {
    const requested = objects(gateway.spec?.addresses)[0];
    if (requested?.value) return { type: requested.type ?? 'IPAddress', value: String(requested.value) };
    const held = previous && !objects(previous.spec?.addresses)[0]?.value ? objects(previous.status?.addresses)[0] : undefined;
    if (held?.value) return { type: held.type ?? 'IPAddress', value: held.value };
    const ip = this.freeAddress(gateway);
    return ip ? { type: 'IPAddress', value: ip } : undefined;
  }

  /** The listener's protocol kinds, narrowed to allowedRoutes.kinds when given. */
  private supportedKinds(listener: Obj): string[] {
    const byProtocol = protocolKinds[listener.protocol] ?? [];
    const allowed = objects(listener.allowedRoutes?.kinds);
    if (allowed.length === 0) return byProtocol;
    return byProtocol.filter((kind) => allowed.some((k) => (k.group ?? gatewayGroup) === gatewayGroup && k.kind === kind));
  }

  private admits(listener: Obj, gatewayNamespace: string, routeNamespace: string): boolean {
    const namespaces: Obj = listener.allowedRoutes?.namespaces ?? {};
    switch (namespaces.from ?? 'Same') {
      case 'All':
        return true;
      case 'Selector': {
        const labels = this.store.get(this.types.namespaces, undefined, routeNamespace)?.metadata.labels ?? {};
        return selects(namespaces.selector, labels);
      }
      default:
        return routeNamespace === gatewayNamespace;
    }
  }

  /** Every route parentRef that names a Gateway, by `<namespace>/<name>` of that Gateway. */
  private attachments(): Map<string, Attachment[]> {
    const out = new Map<string, Attachment[]>();
    for (const type of this.types.routes) {
      for (const route of this.store.list(type)) {
        const namespace = route.metadata.namespace ?? '';
        for (const ref of objects(route.spec?.parentRefs)) {
          if ((ref.group ?? gatewayGroup) !== gatewayGroup || (ref.kind ?? 'Gateway') !== 'Gateway' || typeof ref.name !== 'string') continue;
          const key = `${ref.namespace ?? namespace}/${ref.name}`;
          const list = out.get(key) ?? [];
          list.push({
            route: `${type.kind}/${namespace}/${route.metadata.name}`,
            kind: type.kind,
            namespace,
            sectionName: typeof ref.sectionName === 'string' ? ref.sectionName : undefined,
            port: typeof ref.port === 'number' ? ref.port : undefined,
          });
          out.set(key, list);
        }
      }
    }
    return out;
  }
}
