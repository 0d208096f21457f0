// Claiming a port on the shared Gateways: the listener and its annotation first (one conditional
// write of the Gateway), then the route. Gateways are filled in name order; a full one passes the
// claim to the next, and the answer says so.
import { FunctionError } from '../../errors.js';
import { checkPort } from '../../policy.js';
import { backoffDelay, sleep } from '../../backoff.js';
import { formatTarget, sameTarget, type ClaimRequest, type ClaimResult, type Protocol, type Target } from '../backend.js';
import { verifyBackend } from '../verify-backend.js';
import type { GatewayDeps } from './deps.js';
import { carries, claimOp, fullRefusal, GatewayRefused, MAX_LISTENERS, portInUse, recordedRules, removeOp } from './listeners.js';
import { noPool, selectPool, type PoolGateway } from './pool.js';
import { ensureRoute, ruleRoute } from './routes.js';

export const describeGateway = (g: PoolGateway) => `${g.ref.namespace}/${g.ref.name} (${g.ip})`;

/** The other Gateways of the pool that answer on one of `gateway`'s addresses. */
export function sharingAddress(pool: PoolGateway[], gateway: PoolGateway): PoolGateway[] {
  return pool.filter((other) => other !== gateway && other.addresses.some((a) => gateway.addresses.includes(a)));
}

/** Ports `protocol` uses on other Gateways with the same address, as the list showed them. */
export function blockedPorts(pool: PoolGateway[], gateway: PoolGateway, protocol: Protocol): Set<number> {
  const blocked = new Set<number>();
  for (const other of sharingAddress(pool, gateway)) {
    for (const l of other.object.spec.listeners ?? []) if (carries(l, protocol)) blocked.add(l.port);
  }
  return blocked;
}

/** How often a claim that met the same port on a Gateway with the same address tries again. */
const CLASH_ATTEMPTS = 8;

/**
 * Whether a Gateway with the same address now also has `port` (read afresh). No single write covers
 * two Gateways, so after its write a claim looks at the others and, on a clash, takes its listener
 * back and tries again. Of two claims that took the same port on two Gateways, the one that wrote
 * second reads after both writes and sees the other, so at most one keeps the port (both may
 * yield; they retry after a random pause).
 */
async function clashes(kube: GatewayDeps['kube'], others: PoolGateway[], protocol: Protocol, port: number): Promise<boolean> {
  const now = await Promise.all(others.map((g) => kube.readGateway(g.ref)));
  return now.some((g) => portInUse(g?.spec.listeners ?? [], protocol, port));
}

/**
 * The order to try the pool in: the Gateway that already records the backend first, so a repeat
 * lands where the first call did; then the others by name, except that those the list showed full
 * go last. They are refused on what the list showed (no request each); only if every other one
 * refuses too are they tried, on fresh reads, in case a listener was removed meanwhile.
 */
function claimOrder(
  pool: PoolGateway[],
  target: Target,
  protocol: Protocol,
  port: number | undefined,
): { owner?: PoolGateway; open: PoolGateway[]; full: PoolGateway[] } {
  const owner = pool.find((g) =>
    recordedRules(g.object.metadata.annotations).some(
      (r) => r.protocol === protocol && sameTarget(r.target, target) && (port === undefined || r.port === port),
    ),
  );
  const rest = pool.filter((g) => g !== owner);
  const looksFull = (g: PoolGateway) => (g.object.spec.listeners?.length ?? 0) >= MAX_LISTENERS;
  return { owner, open: [...(owner ? [owner] : []), ...rest.filter((g) => !looksFull(g))], full: rest.filter(looksFull) };
}

function refusalNotice(refused: { gateway: PoolGateway; refusal: GatewayRefused }[], protocol: Protocol, port: number | undefined): string {
  return refused
    .map(({ gateway, refusal }) => {
      const why = {
        full: `is full (${MAX_LISTENERS} listeners)`,
        'port-taken': `already uses port ${port}/${protocol}`,
        'no-free-port': `has no free ${protocol} port left`,
        gone: 'was deleted',
      }[refusal.reason];
      return `Gateway ${describeGateway(gateway)} ${why}`;
    })
    .join('; ');
}

export async function claimRule(deps: GatewayDeps, request: ClaimRequest): Promise<ClaimResult> {
  const { kube, config, writer } = deps;
  const { protocol, port, lbip } = request;
  const target: Target = { namespace: request.namespace, serviceName: request.serviceName, servicePort: request.servicePort };
  if (port !== undefined) checkPort(port, config.portRange);

  // The route versions are read before anything is written: a cluster without TCPRoute/UDPRoute
  // fails the claim here, not after the listener is in place.
  const [pool] = await Promise.all([selectPool({ kube, config, lbip }), verifyBackend(kube, target, protocol), kube.versions()]);
  const { owner, open, full } = claimOrder(pool, target, protocol, port);
  const refused = full.map((gateway) => ({ gateway, refusal: fullRefusal(describeGateway(gateway), gateway.object.spec.listeners!.length) }));
  for (const gateway of [...open, ...full]) {
    // Reaching a Gateway the list showed full means every other one refused: try it after all.
    if (full.includes(gateway)) refused.splice(refused.findIndex((r) => r.gateway === gateway), 1);
    const others = sharingAddress(pool, gateway);
    const blocked = blockedPorts(pool, gateway, protocol);
    let claimed: { port: number; created: boolean } | undefined;
    try {
      for (let attempt = 1; !claimed; attempt++) {
        const { value } = await writer.submit(
          gateway.ref,
          claimOp({ target, protocol, port, range: config.portRange, blocked, routes: config.gatewayRouteNamespace, where: describeGateway(gateway) }),
          attempt === 1 ? gateway.object : undefined,
        );
        if (others.length === 0 || !(await clashes(kube, others, protocol, value.port))) {
          claimed = value;
          break;
        }
        if (!value.created) {
          // Found in place, made by a call that may be checking this very clash: that call decides,
          // this one looks again after a pause (and keeps answering the rule if it stays).
          if (attempt >= CLASH_ATTEMPTS) claimed = value;
          else await sleep(backoffDelay(attempt - 1, { baseDelayMs: 5, maxDelayMs: 100 }));
          continue;
        }
        const mine = formatTarget(target);
        await writer.submit(gateway.ref, removeOp((r) => r.protocol === protocol && r.port === value.port && r.value === mine));
        blocked.add(value.port);
        if (port !== undefined || attempt >= CLASH_ATTEMPTS) {
          throw new GatewayRefused(
            'port-taken',
            new FunctionError('PORT_TAKEN', `Port ${value.port}/${protocol} on ${gateway.ip} was taken on another Gateway with that address`, {
              gateway: describeGateway(gateway),
              port: value.port,
              protocol,
            }),
          );
        }
        await sleep(backoffDelay(attempt - 1, { baseDelayMs: 5, maxDelayMs: 100 }));
      }
    } catch (err) {
      if (!(err instanceof GatewayRefused)) throw err;
      refused.push({ gateway, refusal: err });
      continue;
    }
    // Also when the listener existed: a previous call may have died before creating the route.
    const route = ruleRoute({ gateway: gateway.ref, protocol, port: claimed.port, target, routes: config.gatewayRouteNamespace });
    await ensureRoute(kube, route, claimed.created ? 'missing' : undefined);
    return {
      ip: gateway.ip,
      port: claimed.port,
      protocol,
      ...target,
      created: claimed.created,
      // A repeat that found its rule where it was says nothing of the Gateways it never needed.
      ...(gateway !== owner &&
        refused.length > 0 && {
          notice: `${refusalNotice(refused, protocol, port)}; the rule is on Gateway ${describeGateway(gateway)}`,
        }),
    };
  }

  if (refused.length === 1) throw refused[0].refusal.error;
  const gateways = refused.map(({ gateway, refusal }) => ({ gateway: describeGateway(gateway), reason: refusal.reason }));
  if (refused.every((r) => r.refusal.reason === 'gone')) throw noPool(config);
  if (port !== undefined && refused.some((r) => r.refusal.reason === 'port-taken')) {
    throw new FunctionError('PORT_TAKEN', `Port ${port}/${protocol} is not available on any Gateway`, { port, protocol, gateways });
  }
  const range = config.portRange;
  throw new FunctionError('NO_FREE_PORT', `No free ${protocol} port left in ${range.from}-${range.to} on any Gateway`, {
    protocol,
    range,
    gateways,
  });
}
