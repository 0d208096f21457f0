// Repair: removes rules whose backend Service is gone and brings the controller Services back in
// line with the ConfigMaps (ports missing after a crash between the two writes of a claim, ports
// left open after a crash in a delete).
//
// Unlike Kubernetes' NodePort repair loop, which frees a leaked port only after seeing it leaked in
// several consecutive runs, this runs on request, is a dry run unless `dryRun: false`, and each
// removal is conditional: an entry is deleted only if it still holds the exact value that was seen
// dangling, under CAS, so a port re-claimed in between is left alone. A dry run followed by an
// apply is the operator's two observations.
import { selectControllers } from './controllers.js';
import type { IngressDeps } from './deps.js';
import { entriesOf, PROTOCOLS, type Protocol } from './entries.js';
import { compareRules, type RepairResult } from '../backend.js';
import { removeOp } from './rules.js';
import { planServicePorts, type PortChange } from './service-ports.js';

export type { RepairResult } from '../backend.js';

export async function repair(deps: IngressDeps, { dryRun = true }: { dryRun?: boolean } = {}): Promise<RepairResult> {
  const { kube, config, writer, sync } = deps;
  const controllers = await selectControllers({ kube, config });
  const exists = new Map<string, Promise<boolean>>();
  // A Service in a deleted namespace reads as 404 too, so one read answers both cases.
  const serviceExists = (namespace: string, name: string) => {
    const key = `${namespace}/${name}`;
    if (!exists.has(key)) exists.set(key, kube.readService({ namespace, name }).then((s) => s !== undefined));
    return exists.get(key)!;
  };

  const removed: RepairResult['removed'] = [];
  const fixed: RepairResult['fixed'] = [];
  for (const controller of controllers) {
    const data: Record<Protocol, Record<string, string>> = { tcp: {}, udp: {} };
    const dangling: Record<Protocol, Set<string>> = { tcp: new Set(), udp: new Set() };
    for (const protocol of PROTOCOLS) {
      data[protocol] = (await kube.readConfigMap(controller.configMaps[protocol]))?.data ?? {};
      for (const entry of entriesOf(data[protocol])) {
        if (await serviceExists(entry.target.namespace, entry.target.serviceName)) continue;
        dangling[protocol].add(`${entry.port}=${entry.value}`);
        if (dryRun) removed.push({ ip: controller.ip, port: entry.port, protocol, ...entry.target, reason: 'ServiceNotFound' });
      }
    }

    let changes: PortChange[];
    if (dryRun) {
      const service = await kube.readService(controller.service);
      const remaining = Object.fromEntries(
        PROTOCOLS.map((p) => [p, Object.fromEntries(Object.entries(data[p]).filter(([k, v]) => !dangling[p].has(`${k}=${v}`)))]),
      );
      changes = planServicePorts({ ports: service?.spec?.ports ?? [], data: remaining }).changes;
    } else {
      await Promise.all(
        PROTOCOLS.filter((p) => dangling[p].size > 0).map(async (protocol) => {
          const { value: gone } = await writer.submit(controller.configMaps[protocol], removeOp((e) => dangling[protocol].has(`${e.port}=${e.value}`)));
          removed.push(...gone.map((e) => ({ ip: controller.ip, port: e.port, protocol, ...e.target, reason: 'ServiceNotFound' as const })));
        }),
      );
      changes = await sync.sync(controller, PROTOCOLS);
    }
    const closedForRemoved = (c: PortChange) =>
      c.action === 'removed' && [...dangling[c.protocol]].some((d) => d.startsWith(`${c.port}=`));
    fixed.push(...changes.filter((c) => !closedForRemoved(c)).map((c) => ({ ip: controller.ip, ...c, object: 'service-port' as const })));
  }
  return {
    dryRun,
    removed: removed.sort(compareRules),
    fixed: fixed.sort(compareRules),
  };
}
