// Which Service ports of a release get an ingress rule: by default every TCP/UDP port of every
// Service (ingress-nginx proxies only TCP and UDP, so SCTP ports are skipped); `expose` narrows the
// choice by Service name, port number and protocol.
import { FunctionError } from '../errors.js';
import type { ExposeOptions, ExposeTarget, Protocol, ReleaseService } from './types.js';

function protocolOf(value: string | undefined): Protocol | undefined {
  const p = (value ?? 'TCP').toLowerCase();
  return p === 'tcp' || p === 'udp' ? p : undefined;
}

export function selectTargets(services: ReleaseService[], expose: ExposeOptions = {}): ExposeTarget[] {
  const all: ExposeTarget[] = [];
  for (const service of services) {
    for (const port of service.ports ?? []) {
      const protocol = protocolOf(port.protocol);
      if (protocol) all.push({ namespace: service.namespace, serviceName: service.name, servicePort: port.port, protocol });
    }
  }
  const chosen = all.filter(
    (t) =>
      (expose.serviceName === undefined || t.serviceName === expose.serviceName) &&
      (expose.servicePort === undefined || t.servicePort === expose.servicePort) &&
      (expose.protocol === undefined || t.protocol === expose.protocol),
  );
  const available = all.map((t) => `${t.serviceName}:${t.servicePort}/${t.protocol}`);
  const narrowed = expose.serviceName !== undefined || expose.servicePort !== undefined || expose.protocol !== undefined;
  if (narrowed && chosen.length === 0) {
    throw new FunctionError('INVALID_INPUT', 'No Service port of the release matches `expose`', { expose, available });
  }
  if (expose.port !== undefined && chosen.length !== 1) {
    throw new FunctionError('INVALID_INPUT', '`expose.port` needs exactly one Service port to expose; narrow it with serviceName/servicePort/protocol', {
      expose,
      available,
    });
  }
  return chosen.sort(
    (a, b) =>
      a.namespace.localeCompare(b.namespace) ||
      a.serviceName.localeCompare(b.serviceName) ||
      a.servicePort - b.servicePort ||
      a.protocol.localeCompare(b.protocol),
  );
}
