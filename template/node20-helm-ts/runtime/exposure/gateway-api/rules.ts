// Listing and deleting rules on the shared Gateways, and the read-only free-port lookup.
import { FunctionError } from '../../errors.js';
import { compareRules, matchesDelete, portName, type DeleteRequest, type Protocol, type Rule } from '../backend.js';
import { blockedPorts } from './claim.js';
import type { GatewayDeps } from './deps.js';
import { lowestFree, recordedRules, removeOp, stateOf, type RecordedRule } from './listeners.js';
import { selectPool, type PoolGateway } from './pool.js';
import { deleteRoute, ruleRoute } from './routes.js';

const toRule = (gateway: PoolGateway, r: RecordedRule): Rule => ({ ip: gateway.ip, port: r.port, protocol: r.protocol, ...r.target });

/** Rules whose listener is on the Gateway (a recorded rule missing its listener is for repair to mend). */
export function rulesOf(gateway: PoolGateway): Rule[] {
  const names = new Set((gateway.object.spec.listeners ?? []).map((l) => l.name));
  return recordedRules(gateway.object.metadata.annotations)
    .filter((r) => names.has(portName(r.protocol, r.port)))
    .map((r) => toRule(gateway, r));
}

export async function listRules(deps: GatewayDeps, { lbip }: { lbip?: string } = {}): Promise<Rule[]> {
  const pool = await selectPool({ kube: deps.kube, config: deps.config, lbip, fresh: true });
  return pool.flatMap(rulesOf).sort(compareRules);
}

/** The lowest free port of the first Gateway (by name) that has one, without claiming it. */
export async function lookupPort(
  deps: GatewayDeps,
  { protocol, lbip }: { protocol: Protocol; lbip?: string },
): Promise<{ ip: string; port: number; protocol: Protocol }> {
  const pool = await selectPool({ kube: deps.kube, config: deps.config, lbip });
  const range = deps.config.portRange;
  for (const gateway of pool) {
    const port = lowestFree(stateOf(gateway.object), protocol, range, blockedPorts(pool, gateway, protocol));
    if (port !== undefined) return { ip: gateway.ip, port, protocol };
  }
  throw new FunctionError('NO_FREE_PORT', `No free ${protocol} port left in ${range.from}-${range.to} on any Gateway`, {
    protocol,
    range,
    gateways: pool.map((g) => `${g.ref.namespace}/${g.ref.name}`),
  });
}

/**
 * Deletes every rule matching all given fields on every Gateway (or those at `lbip`): the listener
 * and its annotation in one write, then the route. Deleting what does not exist answers [].
 */
export async function deleteRules(deps: GatewayDeps, request: DeleteRequest): Promise<Rule[]> {
  const [pool] = await Promise.all([
    selectPool({ kube: deps.kube, config: deps.config, lbip: request.lbip, fresh: true }),
    // Before anything is written: a cluster without TCPRoute fails here, not halfway.
    deps.kube.versions(),
  ]);
  const match = (r: RecordedRule) => (request.protocol === undefined || r.protocol === request.protocol) && matchesDelete(request, r);
  const deleted = await Promise.all(
    pool.map(async (gateway) => {
      const { value: removed } = await deps.writer.submit(gateway.ref, removeOp(match), gateway.object);
      await Promise.all(
        removed.map((r) =>
          deleteRoute(deps.kube, ruleRoute({ gateway: gateway.ref, protocol: r.protocol, port: r.port, target: r.target, routes: deps.config.gatewayRouteNamespace })),
        ),
      );
      return removed.map((r) => toRule(gateway, r));
    }),
  );
  return deleted.flat().sort(compareRules);
}
