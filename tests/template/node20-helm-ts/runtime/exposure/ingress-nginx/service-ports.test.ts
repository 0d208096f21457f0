import { describe, expect, test } from 'vitest';
import { planServicePorts } from '#runtime/exposure/ingress-nginx/service-ports.js';

const http = { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP', nodePort: 31080 };
const https = { name: 'https', port: 443, targetPort: 'https', protocol: 'TCP', nodePort: 31443 };

describe('planServicePorts', () => {
  test('adds a port per entry and removes ports of ours without one, leaving foreign ports alone', () => {
    const plan = planServicePorts({
      ports: [http, https, { name: 'tcp-30000', port: 30000, targetPort: 30000, protocol: 'TCP', nodePort: 32000 }, { name: 'tcp-30009', port: 30009, targetPort: 30009, protocol: 'TCP' }],
      data: { tcp: { '30000': 'a/b:1', '30001': 'a/c:2', '30002': 'malformed' } },
    });
    expect(plan.ports).toEqual([
      http,
      https,
      { name: 'tcp-30000', port: 30000, targetPort: 30000, protocol: 'TCP', nodePort: 32000 },
      { name: 'tcp-30001', port: 30001, targetPort: 30001, protocol: 'TCP' },
    ]);
    expect(plan.changes).toEqual([
      { protocol: 'tcp', port: 30009, action: 'removed' },
      { protocol: 'tcp', port: 30001, action: 'added' },
    ]);
  });

  test('only the protocols given are managed; TCP and UDP share a port number', () => {
    const udp = { name: 'udp-30005', port: 30005, targetPort: 30005, protocol: 'UDP' };
    const plan = planServicePorts({ ports: [http, udp], data: { tcp: { '30005': 'a/b:1' } } });
    expect(plan.ports).toEqual([http, udp, { name: 'tcp-30005', port: 30005, targetPort: 30005, protocol: 'TCP' }]);
    expect(planServicePorts({ ports: plan.ports, data: { tcp: {}, udp: { '30005': 'a/b:1' } } }).ports).toEqual([http, udp]);
  });

  test('a wrong port of ours is replaced; reserved ports and ports opened under another name are not added', () => {
    const plan = planServicePorts({
      ports: [http, { name: 'tcp-30000', port: 30000, targetPort: 8080, protocol: 'TCP' }, { name: 'ssh', port: 30022, protocol: 'TCP' }],
      data: { tcp: { '30000': 'a/b:1', '80': 'a/b:2', '30022': 'a/b:3' } },
    });
    expect(plan.ports).toEqual([
      http,
      { name: 'ssh', port: 30022, protocol: 'TCP' },
      { name: 'tcp-30000', port: 30000, targetPort: 30000, protocol: 'TCP' },
    ]);
    expect(plan.changes).toEqual([
      { protocol: 'tcp', port: 30000, action: 'removed' },
      { protocol: 'tcp', port: 30000, action: 'added' },
    ]);
  });

  test('no changes when Service and ConfigMap agree', () => {
    const ports = [http, { name: 'udp-30001', port: 30001, targetPort: 30001, protocol: 'UDP' }];
    expect(planServicePorts({ ports, data: { tcp: {}, udp: { '30001': 'x/y:53' } } })).toEqual({ ports, changes: [] });
  });
});
