// Listing and deleting rules, and the read-only free-port lookup.
import type { V1ConfigMap } from '@kubernetes/client-node';
import { compareRules, matchesDelete, type DeleteRequest } from '../backend.js';
import type { ConfigMapOp } from './configmap-writer.js';
import { chooseController } from './claim.js';
import { selectControllers, type Controller } from './controllers.js';
import type { IngressDeps } from './deps.js';
import { entriesOf, lowestFreePort, PROTOCOLS, type Protocol, type Rule, type Target } from './entries.js';

function toRule(controller: Controller, protocol: Protocol, entry: { port: number; target: Target }): Rule {
  return { ip: controller.ip, port: entry.port, protocol, ...entry.target };
}

/** Every well-formed entry of every controller, both protocols. */
export async function listRules(deps: IngressDeps, { lbip }: { lbip?: string } = {}): Promise<Rule[]> {
  const controllers = await selectControllers({ kube: deps.kube, config: deps.config, lbip });
  const rules = await Promise.all(
    controllers.flatMap((controller) =>
      PROTOCOLS.map(async (protocol) => {
        const data = (await deps.kube.readConfigMap(controller.configMaps[protocol]))?.data;
        return entriesOf(data).map((e) => toRule(controller, protocol, e));
      }),
    ),
  );
  return rules.flat().sort(compareRules);
}

/** The lowest free port, without claiming it (another call may take it first). */
export async function lookupPort(
  deps: IngressDeps,
  { protocol, lbip }: { protocol: Protocol; lbip?: string },
): Promise<{ ip: string; port: number; protocol: Protocol }> {
  const controllers = await selectControllers({ kube: deps.kube, config: deps.config, lbip });
  const candidates = await Promise.all(
    controllers.map(async (controller) => ({
      controller,
      data: (await deps.kube.readConfigMap(controller.configMaps[protocol]))?.data ?? {},
    })),
  );
  const controller = chooseController({ candidates, protocol, range: deps.config.portRange });
  const { data } = candidates.find((c) => c.controller === controller)!;
  const port = lowestFreePort({ range: deps.config.portRange, data, blocked: controller.foreignPorts[protocol] })!;
  return { ip: controller.ip, port, protocol };
}

export type { DeleteRequest } from '../backend.js';

/** Removes the entries matching `match`; edits `data` only by deleting those keys. */
export function removeOp(match: (entry: { port: number; value: string; target: Target }) => boolean): ConfigMapOp<{ port: number; target: Target }[]> {
  return (data) => {
    const removed = entriesOf(data).filter(match);
    for (const entry of removed) delete data[String(entry.port)];
    return removed.map(({ port, target }) => ({ port, target }));
  };
}

/**
 * Deletes every rule matching all given fields, on every controller (or the one at `lbip`), and
 * then closes the Service ports. Deleting what does not exist answers an empty list.
 */
export async function deleteRules(deps: IngressDeps, request: DeleteRequest): Promise<Rule[]> {
  const controllers = await selectControllers({ kube: deps.kube, config: deps.config, lbip: request.lbip });
  const protocols = request.protocol ? [request.protocol] : PROTOCOLS;
  const match = (entry: { port: number; target: Target }) => matchesDelete(request, entry);
  const deleted = await Promise.all(
    controllers.map(async (controller) => {
      const configMaps: Partial<Record<Protocol, V1ConfigMap>> = {};
      const removed = await Promise.all(
        protocols.map(async (protocol) => {
          const written = await deps.writer.submit(controller.configMaps[protocol], removeOp(match));
          configMaps[protocol] = written.object;
          return written.value.map((e) => toRule(controller, protocol, e));
        }),
      );
      await deps.sync.sync(controller, protocols, { service: controller.object, configMaps });
      return removed.flat();
    }),
  );
  return deleted.flat().sort(compareRules);
}
