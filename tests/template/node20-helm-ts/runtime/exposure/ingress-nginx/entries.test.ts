import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  entriesOf,
  findTarget,
  formatTarget,
  isFreePort,
  lowestFreePort,
  parsePortKey,
  parsePortName,
  parseTarget,
  portName,
  RESERVED_PORTS,
} from '#runtime/exposure/ingress-nginx/entries.js';

describe('ConfigMap values', () => {
  test('parses namespace/service:port with optional PROXY flags', () => {
    expect(parseTarget('shop/db:5432')).toEqual({ namespace: 'shop', serviceName: 'db', servicePort: 5432, proxy: '' });
    expect(parseTarget('shop/db:5432:PROXY:PROXY')).toEqual({ namespace: 'shop', serviceName: 'db', servicePort: 5432, proxy: ':PROXY:PROXY' });
    expect(parseTarget('shop/db:postgres')).toEqual({ namespace: 'shop', serviceName: 'db', servicePort: 'postgres', proxy: '' });
  });

  test('rejects what ingress-nginx skips as malformed', () => {
    for (const value of ['db:5432', 'shop/db', 'shop/db:0', 'shop/db:70000', 'Shop/db:1', 'shop/db:1:HTTP', '/db:1', 'shop/:1', '']) {
      expect(parseTarget(value), value).toBeUndefined();
    }
  });

  test('format and parse round-trip', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/),
        fc.stringMatching(/^[a-z]([-a-z0-9]{0,20}[a-z0-9])?$/),
        fc.integer({ min: 1, max: 65535 }),
        (namespace, serviceName, servicePort) => {
          const target = { namespace, serviceName, servicePort };
          expect(parseTarget(formatTarget(target))).toEqual({ ...target, proxy: '' });
        },
      ),
    );
  });

  test('port keys are plain 1-65535 numbers', () => {
    expect([parsePortKey('30000'), parsePortKey('1'), parsePortKey('65535')]).toEqual([30000, 1, 65535]);
    for (const key of ['0', '030000', '65536', '3e4', ' 30000', 'x', '']) expect(parsePortKey(key), key).toBeUndefined();
  });

  test('entriesOf keeps well-formed entries sorted by port; findTarget ignores PROXY flags', () => {
    const data = { '30002': 'b/svc:2', '30001': 'a/svc:1:PROXY', bad: 'a/svc:1', '30003': 'nonsense' };
    expect(entriesOf(data)).toEqual([
      { port: 30001, value: 'a/svc:1:PROXY', target: { namespace: 'a', serviceName: 'svc', servicePort: 1 } },
      { port: 30002, value: 'b/svc:2', target: { namespace: 'b', serviceName: 'svc', servicePort: 2 } },
    ]);
    expect(findTarget(data, { namespace: 'a', serviceName: 'svc', servicePort: 1 })).toBe(30001);
    expect(findTarget(data, { namespace: 'a', serviceName: 'svc', servicePort: 2 })).toBeUndefined();
  });
});

describe('free ports', () => {
  const range = { from: 30000, to: 30004 };

  test('lowest port not in the map (even malformed), not open on the Service, not reserved', () => {
    const data = { '30000': 'a/b:1', '30001': 'garbage' };
    expect(lowestFreePort({ range, data, blocked: new Set([30002]) })).toBe(30003);
    expect(lowestFreePort({ range, data, blocked: new Set([30002, 30003, 30004]) })).toBeUndefined();
    expect(lowestFreePort({ range: { from: 442, to: 444 }, data: {}, blocked: new Set() })).toBe(444);
    expect(lowestFreePort({ range: { from: 10245, to: 10248 }, data: {}, blocked: new Set() })).toBe(10248);
  });

  test('the chosen port is always free and is the smallest free one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 65000 }),
        fc.integer({ min: 0, max: 40 }),
        fc.array(fc.integer({ min: 0, max: 45 }), { maxLength: 30 }),
        fc.array(fc.integer({ min: 0, max: 45 }), { maxLength: 10 }),
        (from, width, used, blockedOffsets) => {
          const r = { from, to: from + width };
          const data = Object.fromEntries(used.map((o) => [String(from + o), 'a/b:1']));
          const blocked = new Set(blockedOffsets.map((o) => from + o));
          const port = lowestFreePort({ range: r, data, blocked });
          const free = Array.from({ length: width + 1 }, (_, i) => from + i).filter(
            (p) => !(String(p) in data) && !blocked.has(p) && !RESERVED_PORTS.has(p),
          );
          expect(port).toBe(free[0]);
          if (port !== undefined) expect(isFreePort(port, { range: r, data, blocked })).toBe(true);
        },
      ),
    );
  });

  test('Service port names of our scheme', () => {
    expect(portName('udp', 30000)).toBe('udp-30000');
    expect(parsePortName('tcp-30000')).toEqual({ protocol: 'tcp', port: 30000 });
    for (const name of ['http', 'https', 'tcp-0', 'tcp-65536', 'sctp-1', 'tcp-01', undefined]) expect(parsePortName(name)).toBeUndefined();
  });
});
