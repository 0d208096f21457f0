// Keeps the controller Service's ports in line with the tcp/udp ConfigMaps (the ConfigMaps are the
// truth). Only ports named by our scheme (`tcp-<port>`, `udp-<port>`) are ever added or removed.
import type { V1ServicePort } from '@kubernetes/client-node';
import { entriesOf, isReservedPort, parsePortName, portName, type Protocol } from './entries.js';

export interface PortChange {
  protocol: Protocol;
  port: number;
  /** added: an entry had no Service port; removed: a Service port of ours had no entry. */
  action: 'added' | 'removed';
}

function wanted(protocol: Protocol, port: number): V1ServicePort {
  return { name: portName(protocol, port), port, targetPort: port, protocol: protocol === 'tcp' ? 'TCP' : 'UDP' } as V1ServicePort;
}

function matches(existing: V1ServicePort, protocol: Protocol, port: number): boolean {
  return (
    existing.port === port &&
    (existing.protocol ?? 'TCP') === (protocol === 'tcp' ? 'TCP' : 'UDP') &&
    String(existing.targetPort ?? port) === String(port)
  );
}

/**
 * The Service ports that agree with `data` for each protocol in `data` (protocols absent from `data`
 * are left alone), and the changes that takes. Existing ports keep their nodePort and order.
 */
export function planServicePorts({
  ports,
  data,
}: {
  ports: V1ServicePort[];
  data: Partial<Record<Protocol, Record<string, string> | undefined>>;
}): { ports: V1ServicePort[]; changes: PortChange[] } {
  const managed = Object.keys(data) as Protocol[];
  const desired = new Map<Protocol, Set<number>>(managed.map((p) => [p, new Set(entriesOf(data[p]).map((e) => e.port))]));
  const kept: V1ServicePort[] = [];
  const changes: PortChange[] = [];
  const have = new Set<string>();
  for (const existing of ports) {
    const ours = parsePortName(existing.name);
    if (!ours || !managed.includes(ours.protocol)) {
      kept.push(existing);
      continue;
    }
    if (desired.get(ours.protocol)!.has(ours.port) && matches(existing, ours.protocol, ours.port)) {
      kept.push(existing);
      have.add(portName(ours.protocol, ours.port));
    } else {
      changes.push({ protocol: ours.protocol, port: ours.port, action: 'removed' });
    }
  }
  // A port someone opened under another name already serves this port+protocol; a second one
  // would be rejected as a duplicate.
  const taken = new Set(kept.map((p) => `${(p.protocol ?? 'TCP').toLowerCase()}/${p.port}`));
  const added: V1ServicePort[] = [];
  for (const protocol of managed) {
    for (const port of [...desired.get(protocol)!].sort((a, b) => a - b)) {
      if (have.has(portName(protocol, port)) || isReservedPort(port) || taken.has(`${protocol}/${port}`)) continue;
      added.push(wanted(protocol, port));
      changes.push({ protocol, port, action: 'added' });
    }
  }
  return { ports: [...kept, ...added], changes };
}
