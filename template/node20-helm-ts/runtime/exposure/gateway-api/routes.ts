// The TCPRoute/UDPRoute of a rule: attached to its listener by parentRefs[].sectionName, one
// backendRef to the Service port. By default it lives in the Service's namespace (the listener
// admits that namespace only, no cross-namespace reference). With routes in the Gateway's namespace,
// the backendRef crosses namespaces and a ReferenceGrant in the Service's namespace allows it.
import { createHash } from 'node:crypto';
import { isAlreadyExists, isConflict, isNotFound } from '../../kube.js';
import { portName, type Protocol, type Target } from '../backend.js';
import type { ObjectRef } from '../cas-writer.js';
import { GROUP, type GatewayKube, type ReferenceGrant, type Route, type RouteKind } from './kube-api.js';
import { contains, routeKind, type RouteNamespacePolicy } from './listeners.js';

export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'helm-deployer' } as const;
export const MANAGED_SELECTOR = 'app.kubernetes.io/managed-by=helm-deployer';
/** On every route: which Gateway and listener it belongs to (`ns/name`, `tcp-20000`). */
export const GATEWAY_ANNOTATION = 'helm-deployer.openfaas.com/gateway';
export const LISTENER_ANNOTATION = 'helm-deployer.openfaas.com/listener';

export interface RuleRoute {
  kind: RouteKind;
  ref: ObjectRef;
  body: Route;
  /** Only with routes in the Gateway's namespace. */
  grant?: ReferenceGrant;
}

/** `<gateway>-<protocol>-<port>`, shortened with a hash when it would pass the 253 characters of a name. */
export function routeName(gateway: string, protocol: Protocol, port: number): string {
  const suffix = `-${portName(protocol, port)}`;
  if (gateway.length + suffix.length <= 253) return gateway + suffix;
  const hash = createHash('sha256').update(gateway).digest('hex').slice(0, 10);
  return `${gateway.slice(0, 253 - suffix.length - hash.length - 1).replace(/[-.]+$/, '')}-${hash}${suffix}`;
}

export function ruleRoute({
  gateway,
  protocol,
  port,
  target,
  routes,
}: {
  gateway: ObjectRef;
  protocol: Protocol;
  port: number;
  target: Target;
  routes: RouteNamespacePolicy;
}): RuleRoute {
  const kind = routeKind(protocol);
  const name = routeName(gateway.name, protocol, port);
  const namespace = routes === 'gateway' ? gateway.namespace : target.namespace;
  const crossNamespace = namespace !== target.namespace;
  const body: Route = {
    metadata: {
      name,
      namespace,
      labels: { ...MANAGED_BY },
      annotations: { [GATEWAY_ANNOTATION]: `${gateway.namespace}/${gateway.name}`, [LISTENER_ANNOTATION]: portName(protocol, port) },
    },
    spec: {
      parentRefs: [{ group: GROUP, kind: 'Gateway', namespace: gateway.namespace, name: gateway.name, sectionName: portName(protocol, port) }],
      rules: [
        {
          backendRefs: [
            { group: '', kind: 'Service', name: target.serviceName, ...(crossNamespace && { namespace: target.namespace }), port: Number(target.servicePort) },
          ],
        },
      ],
    },
  };
  const grant: ReferenceGrant | undefined = crossNamespace
    ? {
        metadata: { name, namespace: target.namespace, labels: { ...MANAGED_BY } },
        spec: {
          from: [{ group: GROUP, kind, namespace }],
          to: [{ group: '', kind: 'Service', name: target.serviceName }],
        },
      }
    : undefined;
  return { kind, ref: { namespace, name }, body, grant };
}

/** Whether the existing object already says what we want (labels, annotations and spec we set; defaults aside). */
export function routeUpToDate(have: { metadata: Route['metadata']; spec: unknown }, want: { metadata: Route['metadata']; spec: unknown }): boolean {
  return (
    contains(have.metadata.labels ?? {}, want.metadata.labels ?? {}) &&
    contains(have.metadata.annotations ?? {}, want.metadata.annotations ?? {}) &&
    contains(have.spec, want.spec)
  );
}

/**
 * Creates the object, or brings an existing one up to date (conditional on its resourceVersion,
 * re-read on 409). `known` is what the caller already read, saving a read. Returns what was done.
 */
async function upsert<T extends { metadata: Route['metadata']; spec: unknown }>(
  want: T,
  ops: { read(): Promise<T | undefined>; create(body: T): Promise<unknown>; replace(body: T): Promise<unknown> },
  known?: T | 'missing',
): Promise<'created' | 'updated' | 'unchanged'> {
  let have = known === 'missing' ? undefined : (known ?? (await ops.read()));
  for (let attempt = 1; ; attempt++) {
    try {
      if (!have) {
        await ops.create(want);
        return 'created';
      }
      if (routeUpToDate(have, want)) return 'unchanged';
      await ops.replace({
        ...have,
        metadata: {
          ...have.metadata,
          labels: { ...have.metadata.labels, ...want.metadata.labels },
          annotations: { ...have.metadata.annotations, ...want.metadata.annotations },
        },
        spec: want.spec,
      });
      return 'updated';
    } catch (err) {
      // Changed, created or deleted by someone else since it was read: read it again.
      if (attempt >= 5 || !(isConflict(err) || isAlreadyExists(err) || isNotFound(err))) throw err;
      have = await ops.read();
    }
  }
}

/**
 * Makes the rule's route (and ReferenceGrant) exist as wanted. `known`: the route as the caller
 * already read it, or 'missing' when the caller knows it is new (a first create then costs one
 * request; AlreadyExists falls back to a read).
 */
export async function ensureRoute(kube: GatewayKube, route: RuleRoute, known?: Route | 'missing'): Promise<'created' | 'updated' | 'unchanged'> {
  if (route.grant) {
    const grant = route.grant;
    const ref = { namespace: grant.metadata.namespace!, name: grant.metadata.name! };
    await upsert(
      grant,
      {
        read: () => kube.readReferenceGrant(ref),
        create: (body) => kube.createReferenceGrant(body),
        replace: (body) => kube.replaceReferenceGrant(body),
      },
      known === 'missing' ? 'missing' : undefined,
    );
  }
  return upsert(
    route.body,
    {
      read: () => kube.readRoute(route.kind, route.ref),
      create: (body) => kube.createRoute(route.kind, body),
      replace: (body) => kube.replaceRoute(route.kind, body),
    },
    known,
  );
}

/** A delete conditional on a resourceVersion; false when the object changed since (someone else's now). */
async function deleteUnchanged(remove: () => Promise<void>): Promise<boolean> {
  try {
    await remove();
    return true;
  } catch (err) {
    if (isConflict(err)) return false;
    throw err;
  }
}

/**
 * Deletes the rule's route and ReferenceGrant if they still say what the rule made them say; what
 * is already gone is fine. A claim may have reused the port (and so the route's name) since the
 * rule went: that route is its rule's now and stays. Each delete is conditional on the version
 * read (`known`: the route as the caller already read it).
 */
export async function deleteRoute(kube: GatewayKube, route: RuleRoute, known?: Route): Promise<void> {
  // The ReferenceGrant first: a crash in between leaves a route without its grant, which repair
  // finds (it lists routes) and deletes; a grant left without its route would never be found.
  if (route.grant) {
    const ref = { namespace: route.grant.metadata.namespace!, name: route.grant.metadata.name! };
    const grant = await kube.readReferenceGrant(ref);
    if (grant && contains(grant.spec, route.grant.spec)) {
      await deleteUnchanged(() => kube.deleteReferenceGrant(ref, grant.metadata.resourceVersion));
    }
  }
  const have = known ?? (await kube.readRoute(route.kind, route.ref));
  if (have && contains(have.spec, route.body.spec)) {
    await deleteUnchanged(() => kube.deleteRoute(route.kind, route.ref, have.metadata.resourceVersion));
  }
}
