// Repair on the shared Gateways: removes rules whose backend Service is gone, makes listeners follow
// the rule annotations (listeners of our naming without a rule go, rules without their listener get
// it back), recreates missing or edited routes, and deletes routes of ours that no rule owns any
// more (left by a crash between the two writes of a delete). A dry run unless `dryRun: false`;
// every removal is conditional (the Gateway under CAS, a route by its uid).
import { compareRules, parsePortName, type RepairFix, type RepairResult, type Target } from '../backend.js';
import type { GatewayDeps } from './deps.js';
import type { Route } from './kube-api.js';
import { alignOp, recordedRules, removeOp, stateOf, type RecordedRule } from './listeners.js';
import { selectPool, type PoolGateway } from './pool.js';
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

/** The RuleRoute of a route we found, to delete it with its ReferenceGrant. */
function asRuleRoute(route: Route): RuleRoute {
  const ref = { namespace: route.metadata.namespace!, name: route.metadata.name! };
  const backend = route.spec.rules?.[0]?.backendRefs?.[0];
  const grantNamespace = backend?.namespace && backend.namespace !== ref.namespace ? backend.namespace : undefined;
  return {
    kind: route.kind!,
    ref,
    body: route,
    ...(grantNamespace && {
      grant: { metadata: { namespace: grantNamespace, name: ref.name }, spec: { from: [], to: [] } },
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
  const pool = await selectPool({ kube, config });
  const exists = new Map<string, Promise<boolean>>();
  const serviceExists = ({ namespace, serviceName }: Target) => {
    const key = `${namespace}/${serviceName}`;
    if (!exists.has(key)) exists.set(key, kube.readService({ namespace, name: serviceName }).then((s) => s !== undefined));
    return exists.get(key)!;
  };

  const removed: RepairResult['removed'] = [];
  const fixed: RepairFix[] = [];
  const owned = new Set<string>();
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
      const route = routeOf(r);
      owned.add(routeKey(route.kind, route.ref.namespace, route.ref.name));
      removed.push({ ip: gateway.ip, port: r.port, protocol: r.protocol, ...r.target, reason: 'ServiceNotFound' });
    }
    fixed.push(...listenerChanges.map((c) => ({ ip: gateway.ip, ...c, object: 'listener' as const })));

    for (const rule of recorded.filter((r) => !isDangling(r))) {
      const route = routeOf(rule);
      const key = routeKey(route.kind, route.ref.namespace, route.ref.name);
      owned.add(key);
      const have = byKey.get(key);
      if (dryRun ? have && routeUpToDate(have, route.body) : (await ensureRoute(kube, route, have)) === 'unchanged') continue;
      fixed.push({ ip: gateway.ip, protocol: rule.protocol, port: rule.port, action: 'added', object: 'route' });
    }
  };
  for (const gateway of pool) await repairGateway(gateway);

  for (const route of found) {
    if (owned.has(routeKey(route.kind!, route.metadata.namespace, route.metadata.name))) continue;
    const listener = parsePortName(route.metadata.annotations?.[LISTENER_ANNOTATION]);
    const gatewayName = route.metadata.annotations?.[GATEWAY_ANNOTATION] ?? '';
    const gateway = pool.find((g) => `${g.ref.namespace}/${g.ref.name}` === gatewayName);
    fixed.push({
      ip: gateway?.ip ?? gatewayName,
      protocol: listener?.protocol ?? (route.kind === 'UDPRoute' ? 'udp' : 'tcp'),
      port: listener?.port ?? 0,
      action: 'removed',
      object: 'route',
    });
    if (!dryRun) {
      const orphan = asRuleRoute(route);
      await kube.deleteRoute(orphan.kind, orphan.ref, route.metadata.uid);
      if (orphan.grant) await kube.deleteReferenceGrant({ namespace: orphan.grant.metadata.namespace!, name: orphan.ref.name });
    }
  }

  return {
    dryRun,
    removed: removed.sort(compareRules),
    fixed: fixed.sort((a, b) => compareRules(a, b) || (a.object ?? '').localeCompare(b.object ?? '')),
  };
}
