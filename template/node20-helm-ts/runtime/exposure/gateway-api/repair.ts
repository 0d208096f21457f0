// Repair on the shared Gateways: removes rules whose backend Service is gone, makes listeners follow
// the rule annotations (listeners of our naming without a rule go, rules without their listener get
// it back), recreates missing or edited routes, and deletes routes of ours that no rule owns any
// more (left by a crash between the two writes of a delete). A dry run unless `dryRun: false`;
// every removal is conditional (the Gateway under CAS, a route or ReferenceGrant on the version read).
import { compareRules, parsePortName, type RepairFix, type RepairResult, type Target } from '../backend.js';
import type { GatewayDeps } from './deps.js';
import { GROUP, type Route } from './kube-api.js';
import { alignOp, recordedRules, removeOp, stateOf, type RecordedRule } from './listeners.js';
import { noPool, poolOf, type PoolGateway } from './pool.js';
import {
  deleteRoute,
  ensureRoute,
  GATEWAY_ANNOTATION,
  LISTENER_ANNOTATION,
  MANAGED_SELECTOR,
  routeUpToDate,
  ruleRoute,
  type RuleRoute,
} from './routes.js';

const routeKey = (kind: string, namespace: string | undefined, name: string | undefined) => `${kind}/${namespace}/${name}`;

/** The RuleRoute of a route we found, to delete it with the ReferenceGrant made for it. */
function asRuleRoute(route: Route): RuleRoute {
  const ref = { namespace: route.metadata.namespace!, name: route.metadata.name! };
  const backend = route.spec.rules?.[0]?.backendRefs?.[0];
  const grantNamespace = backend?.namespace && backend.namespace !== ref.namespace ? backend.namespace : undefined;
  return {
    kind: route.kind!,
    ref,
    body: route,
    ...(grantNamespace && {
      grant: {
        metadata: { namespace: grantNamespace, name: ref.name },
        spec: { from: [{ group: GROUP, kind: route.kind!, namespace: ref.namespace }], to: [{ group: '', kind: 'Service', name: backend!.name }] },
      },
    }),
  };
}

export async function repairGateways(deps: GatewayDeps, { dryRun = true }: { dryRun?: boolean } = {}): Promise<RepairResult> {
  const { kube, config, writer } = deps;
  const routes = config.gatewayRouteNamespace;
  // Routes first: a route is created only after its rule is recorded, so every route listed here
  // whose rule the later Gateway read does not show has really lost its rule.
  // Routes in the Gateway namespace are all there; otherwise they are spread over tenant namespaces.
  const found = await kube.listRoutes(MANAGED_SELECTOR, routes === 'gateway' ? config.loadBalancerNamespace : undefined);
  // Every Gateway of ours, with or without an address: the rules of one that is (re)getting its
  // address still own their routes.
  const labelled = await kube.listGateways({ namespace: config.loadBalancerNamespace, labelSelector: `appingress=${config.ingressLabel}`, fresh: true });
  const pool = poolOf(labelled, config);
  if (pool.length === 0) throw noPool(config);
  const exists = new Map<string, Promise<boolean>>();
  const serviceExists = ({ namespace, serviceName }: Target) => {
    const key = `${namespace}/${serviceName}`;
    if (!exists.has(key)) exists.set(key, kube.readService({ namespace, name: serviceName }).then((s) => s !== undefined));
    return exists.get(key)!;
  };

  const removed: RepairResult['removed'] = [];
  const fixed: RepairFix[] = [];
  // Routes that a rule recorded on a Gateway of ours names (with an address or not, dangling or
  // not: repair deals with those rules itself): all others are orphans.
  const owned = new Set(
    labelled.flatMap((g) =>
      recordedRules(g.metadata.annotations).map((r) => {
        const gateway = { namespace: g.metadata.namespace!, name: g.metadata.name! };
        const route = ruleRoute({ gateway, protocol: r.protocol, port: r.port, target: r.target, routes });
        return routeKey(route.kind, route.ref.namespace, route.ref.name);
      }),
    ),
  );
  const byKey = new Map(found.map((r) => [routeKey(r.kind!, r.metadata.namespace, r.metadata.name), r]));

  const repairGateway = async (gateway: PoolGateway) => {
    const recorded = recordedRules(gateway.object.metadata.annotations);
    const dangling: RecordedRule[] = [];
    for (const rule of recorded) if (!(await serviceExists(rule.target))) dangling.push(rule);
    const isDangling = (r: RecordedRule) => dangling.some((d) => d.protocol === r.protocol && d.port === r.port && d.value === r.value);
    const routeOf = (r: RecordedRule) => ruleRoute({ gateway: gateway.ref, protocol: r.protocol, port: r.port, target: r.target, routes });

    let gone: RecordedRule[];
    let listenerChanges: { protocol: RecordedRule['protocol']; port: number; action: 'added' | 'removed' }[];
    if (dryRun) {
      gone = dangling;
      const state = stateOf(gateway.object);
      removeOp(isDangling)(state);
      listenerChanges = alignOp(routes)(state);
    } else {
      gone = dangling.length > 0 ? (await writer.submit(gateway.ref, removeOp(isDangling))).value : [];
      await Promise.all(gone.map((r) => deleteRoute(kube, routeOf(r))));
      listenerChanges = (await writer.submit(gateway.ref, alignOp(routes))).value;
    }
    for (const r of gone) {
      removed.push({ ip: gateway.ip, port: r.port, protocol: r.protocol, ...r.target, reason: 'ServiceNotFound' });
    }
    const where = `${gateway.ref.namespace}/${gateway.ref.name}`;
    fixed.push(...listenerChanges.map((c) => ({ ip: gateway.ip, gateway: where, ...c, object: 'listener' as const })));

    for (const rule of recorded.filter((r) => !isDangling(r))) {
      const route = routeOf(rule);
      const have = byKey.get(routeKey(route.kind, route.ref.namespace, route.ref.name));
      if (dryRun ? have && routeUpToDate(have, route.body) : (await ensureRoute(kube, route, have)) === 'unchanged') continue;
      fixed.push({ ip: gateway.ip, gateway: where, protocol: rule.protocol, port: rule.port, action: 'added', object: 'route' });
    }
  };
  for (const gateway of pool) await repairGateway(gateway);

  const ours = (name: string) => labelled.some((g) => g.metadata.name === name);
  for (const route of found) {
    if (owned.has(routeKey(route.kind!, route.metadata.namespace, route.metadata.name))) continue;
    // Only routes made for a Gateway of this pool, or for one of its namespace that is gone: routes
    // of other Gateways (another IngressLabel, another namespace) belong to someone else.
    const gatewayRef = route.metadata.annotations?.[GATEWAY_ANNOTATION] ?? '';
    const slash = gatewayRef.indexOf('/');
    const [gatewayNamespace, gatewayName] = [gatewayRef.slice(0, slash), gatewayRef.slice(slash + 1)];
    if (gatewayNamespace !== config.loadBalancerNamespace) continue;
    if (!ours(gatewayName) && (await kube.readGateway({ namespace: gatewayNamespace, name: gatewayName }))) continue;
    const listener = parsePortName(route.metadata.annotations?.[LISTENER_ANNOTATION]);
    fixed.push({
      ip: pool.find((g) => g.ref.name === gatewayName)?.ip ?? '',
      gateway: gatewayRef,
      protocol: listener?.protocol ?? (route.kind === 'UDPRoute' ? 'udp' : 'tcp'),
      port: listener?.port ?? 0,
      action: 'removed',
      object: 'route',
    });
    // Conditional on the version listed: a claim that has since taken the route over keeps it.
    if (!dryRun) await deleteRoute(kube, asRuleRoute(route), route);
  }

  return {
    dryRun,
    removed: removed.sort(compareRules),
    fixed: fixed.sort((a, b) => compareRules(a, b) || (a.object ?? '').localeCompare(b.object ?? '')),
  };
}
