// The ingress-nginx tcp/udp services ConfigMap format and the port arithmetic on it.
// An entry is `"<external port>": "<namespace>/<service>:<port>[:PROXY][:PROXY]"`.
import type { PortRange } from '../../config.js';
import { RESERVED_PORTS as RESERVED } from '../../policy.js';
import { inRange, parseTarget as parsePlainTarget, sameTarget, type Target } from '../backend.js';

export { formatTarget, inRange, parsePortName, portName, PROTOCOLS, sameTarget, type Protocol, type Rule, type Target } from '../backend.js';

/** Ports ingress-nginx uses itself and skips in tcp/udp entries; never handed out. */
export const RESERVED_PORTS: ReadonlySet<number> = new Set(RESERVED);

export function isReservedPort(port: number): boolean {
  return RESERVED_PORTS.has(port);
}

/** A ConfigMap key as a port, or undefined for anything that is not a plain 1-65535 number. */
export function parsePortKey(key: string): number | undefined {
  if (!/^[1-9]\d{0,4}$/.test(key)) return undefined;
  const port = Number(key);
  return port <= 65535 ? port : undefined;
}

/** The target of an entry value, or undefined when ingress-nginx would skip the entry as malformed. */
export function parseTarget(value: string): (Target & { proxy: string }) | undefined {
  const m = /^(.*?)((?::PROXY){0,2})$/.exec(value.trim())!;
  const target = parsePlainTarget(m[1]);
  return target && { ...target, proxy: m[2] };
}

/** Well-formed entries of a ConfigMap's data, sorted by port. */
export function entriesOf(data: Record<string, string> | undefined): { port: number; value: string; target: Target }[] {
  const out: { port: number; value: string; target: Target }[] = [];
  for (const [key, value] of Object.entries(data ?? {})) {
    const port = parsePortKey(key);
    const parsed = port === undefined ? undefined : parseTarget(value);
    if (port === undefined || !parsed) continue;
    const { proxy: _proxy, ...target } = parsed;
    out.push({ port, value, target });
  }
  return out.sort((a, b) => a.port - b.port);
}

/** The port already mapped to `target` in `data`, if any. */
export function findTarget(data: Record<string, string>, target: Target): number | undefined {
  return entriesOf(data).find((e) => sameTarget(e.target, target))?.port;
}

/**
 * Whether `port` may be handed out: inside the range, not reserved, not a key of the ConfigMap
 * (even a malformed one) and not already open on the controller Service for this protocol.
 */
export function isFreePort(port: number, opts: { range: PortRange; data: Record<string, string>; blocked: ReadonlySet<number> }): boolean {
  return inRange(port, opts.range) && !isReservedPort(port) && !(String(port) in opts.data) && !opts.blocked.has(port);
}

/** The lowest free port, or undefined when the range is exhausted. */
export function lowestFreePort(opts: { range: PortRange; data: Record<string, string>; blocked: ReadonlySet<number> }): number | undefined {
  for (let port = opts.range.from; port <= opts.range.to; port++) {
    if (isFreePort(port, opts)) return port;
  }
  return undefined;
}
