// Claiming an external port for a backend: the ConfigMap entry first (CAS), then the Service port.
import { FunctionError } from '../../errors.js';
import { checkPort } from '../../policy.js';
import type { PortRange } from '../../config.js';
import type { ConfigMapOp } from './configmap-writer.js';
import { selectControllers, type Controller } from './controllers.js';
import type { ClaimRequest, ClaimResult } from '../backend.js';
import type { IngressDeps } from './deps.js';
import { verifyBackend } from '../verify-backend.js';
import { entriesOf, findTarget, formatTarget, isFreePort, lowestFreePort, parseTarget, sameTarget, type Protocol, type Target } from './entries.js';

export type { ClaimRequest, ClaimResult } from '../backend.js';

function ownedBy(value: string | undefined, target: Target): boolean {
  const owner = value === undefined ? undefined : parseTarget(value);
  return owner !== undefined && sameTarget(owner, target);
}

/**
 * The ConfigMap edit of one claim. Idempotent: a backend already mapped (to `port`, when given)
 * keeps its port. Edits `data` only on success.
 */
export function claimOp({
  target,
  port,
  range,
  blocked,
  ip,
  protocol,
}: {
  target: Target;
  port?: number;
  range: PortRange;
  blocked: ReadonlySet<number>;
  ip: string;
  protocol: Protocol;
}): ConfigMapOp<{ port: number; created: boolean }> {
  return (data) => {
    if (port !== undefined) {
      const current = data[String(port)];
      if (current !== undefined) {
        if (ownedBy(current, target)) return { port, created: false };
        throw new FunctionError('PORT_TAKEN', `Port ${port}/${protocol} on ${ip} is already mapped to ${current}`, { ip, port, protocol, backend: current });
      }
      if (blocked.has(port)) {
        throw new FunctionError('PORT_TAKEN', `Port ${port}/${protocol} on ${ip} is already open on the ingress controller Service`, { ip, port, protocol });
      }
      data[String(port)] = formatTarget(target);
      return { port, created: true };
    }
    const existing = findTarget(data, target);
    if (existing !== undefined) return { port: existing, created: false };
    const free = lowestFreePort({ range, data, blocked });
    if (free === undefined) {
      throw new FunctionError('NO_FREE_PORT', `No free ${protocol} port left in ${range.from}-${range.to} on ${ip}`, { ip, protocol, range });
    }
    data[String(free)] = formatTarget(target);
    return { port: free, created: true };
  };
}

/**
 * Which controller takes a claim when several may: one that already maps the backend (so a repeat
 * lands where the first call did); with a port, the least used one where that port is free;
 * otherwise the least used one (fewest entries of that protocol, ties by Service name) that still
 * has a free port. The ConfigMap write re-checks all of this under CAS.
 */
export function chooseController({
  candidates,
  target,
  port,
  protocol,
  range,
}: {
  candidates: { controller: Controller; data: Record<string, string> }[];
  /** Omitted by a read-only lookup. */
  target?: Target;
  port?: number;
  protocol: Protocol;
  range: PortRange;
}): Controller {
  const same =
    target &&
    candidates.find(({ data }) => (port !== undefined ? ownedBy(data[String(port)], target) : findTarget(data, target) !== undefined));
  if (same) return same.controller;
  // Ranking parses every entry (~10 ms for 10,000): with one controller, a lookup's usual case,
  // there is nothing to rank.
  let byUse = candidates;
  if (candidates.length > 1) {
    const used = new Map(candidates.map((c) => [c, entriesOf(c.data).length]));
    byUse = [...candidates].sort(
      (a, b) => used.get(a)! - used.get(b)! || a.controller.service.name.localeCompare(b.controller.service.name),
    );
  }
  const usable = byUse.find(({ controller, data }) =>
    port === undefined
      ? lowestFreePort({ range, data, blocked: controller.foreignPorts[protocol] }) !== undefined
      : isFreePort(port, { range, data, blocked: controller.foreignPorts[protocol] }),
  );
  if (usable) return usable.controller;
  if (port !== undefined) {
    throw new FunctionError('PORT_TAKEN', `Port ${port}/${protocol} is already used on every ingress controller`, {
      port,
      protocol,
      ips: candidates.map((c) => c.controller.ip),
    });
  }
  throw new FunctionError('NO_FREE_PORT', `No free ${protocol} port left in ${range.from}-${range.to} on any ingress controller`, {
    protocol,
    range,
    ips: candidates.map((c) => c.controller.ip),
  });
}

export async function claimPort(deps: IngressDeps, request: ClaimRequest): Promise<ClaimResult> {
  const { kube, config, writer, sync } = deps;
  const { protocol, port, lbip } = request;
  const target: Target = { namespace: request.namespace, serviceName: request.serviceName, servicePort: request.servicePort };
  if (port !== undefined) checkPort(port, config.portRange);

  const [controllers] = await Promise.all([selectControllers({ kube, config, lbip }), verifyBackend(kube, target, protocol)]);
  let controller = controllers[0];
  if (controllers.length > 1) {
    const candidates = await Promise.all(
      controllers.map(async (c) => ({ controller: c, data: (await kube.readConfigMap(c.configMaps[protocol]))?.data ?? {} })),
    );
    controller = chooseController({ candidates, target, port, protocol, range: config.portRange });
  }

  const { value: claimed, object: configMap } = await writer.submit(
    controller.configMaps[protocol],
    claimOp({ target, port, range: config.portRange, blocked: controller.foreignPorts[protocol], ip: controller.ip, protocol }),
  );
  // Also when the entry existed: a previous call may have died before opening the Service port.
  // The Service as listed above and the ConfigMap as just written spare the sync two reads.
  await sync.sync(controller, [protocol], { service: controller.object, configMaps: { [protocol]: configMap } });
  return { ip: controller.ip, port: claimed.port, protocol, ...target, created: claimed.created };
}
