import { describe, expect, test } from 'vitest';
import { FunctionError } from '#runtime/errors.js';
import { chooseController, claimOp } from '#runtime/exposure/ingress-nginx/claim.js';
import type { Controller } from '#runtime/exposure/ingress-nginx/controllers.js';

const range = { from: 30000, to: 30002 };
const target = { namespace: 'shop', serviceName: 'db', servicePort: 5432 };
const op = (extra: { port?: number; blocked?: number[] } = {}) =>
  claimOp({ target, range, ip: '203.0.113.1', protocol: 'tcp', port: extra.port, blocked: new Set(extra.blocked ?? []) });

function thrown(fn: () => unknown): FunctionError {
  try {
    fn();
  } catch (err) {
    return err as FunctionError;
  }
  throw new Error('did not throw');
}

describe('claimOp', () => {
  test('takes the lowest free port, then answers the same port for the same backend', () => {
    const data: Record<string, string> = { '30000': 'other/svc:1' };
    expect(op({ blocked: [30001] })(data)).toEqual({ port: 30002, created: true });
    expect(op()(data)).toEqual({ port: 30002, created: false });
    expect(data).toEqual({ '30000': 'other/svc:1', '30002': 'shop/db:5432' });
  });

  test('a requested port: free -> taken, same backend -> idempotent, other backend -> PORT_TAKEN', () => {
    const data: Record<string, string> = { '30000': 'other/svc:1' };
    expect(op({ port: 30001 })(data)).toEqual({ port: 30001, created: true });
    expect(op({ port: 30001 })(data)).toEqual({ port: 30001, created: false });
    const err = thrown(() => op({ port: 30000 })(data));
    expect([err.code, err.status, err.details]).toEqual([
      'PORT_TAKEN',
      409,
      { ip: '203.0.113.1', port: 30000, protocol: 'tcp', backend: 'other/svc:1' },
    ]);
    expect(thrown(() => op({ port: 30002, blocked: [30002] })({})).code).toBe('PORT_TAKEN');
    expect(data).toEqual({ '30000': 'other/svc:1', '30001': 'shop/db:5432' });
  });

  test('a full range is NO_FREE_PORT (507) and leaves the data alone', () => {
    const data = { '30000': 'a/a:1', '30001': 'a/b:1', '30002': 'a/c:1' };
    const err = thrown(() => op()(data));
    expect(err.toJSON()).toEqual({
      error: {
        code: 'NO_FREE_PORT',
        message: 'No free tcp port left in 30000-30002 on 203.0.113.1',
        details: { ip: '203.0.113.1', protocol: 'tcp', range },
      },
    });
    expect(err.status).toBe(507);
    expect(data).toEqual({ '30000': 'a/a:1', '30001': 'a/b:1', '30002': 'a/c:1' });
  });
});

describe('chooseController', () => {
  const controller = (name: string, foreign: number[] = []): Controller => ({
    service: { namespace: 'ingress-nginx', name },
    ip: `ip-${name}`,
    addresses: [`ip-${name}`],
    configMaps: { tcp: { namespace: 'ingress-nginx', name: `${name}-tcp` }, udp: { namespace: 'ingress-nginx', name: `${name}-udp` } },
    foreignPorts: { tcp: new Set(foreign), udp: new Set() },
  });
  const a = controller('a');
  const b = controller('b');

  test('least used, ties by name', () => {
    expect(chooseController({ candidates: [{ controller: b, data: {} }, { controller: a, data: {} }], target, protocol: 'tcp', range })).toBe(a);
    expect(chooseController({ candidates: [{ controller: a, data: { '30000': 'x/y:1' } }, { controller: b, data: {} }], target, protocol: 'tcp', range })).toBe(b);
  });

  test('the controller already mapping the backend wins over a less used one', () => {
    const candidates: { controller: Controller; data: Record<string, string> }[] = [
      { controller: a, data: {} },
      { controller: b, data: { '30000': 'x/y:1', '30001': 'shop/db:5432' } },
    ];
    expect(chooseController({ candidates, target, protocol: 'tcp', range })).toBe(b);
    expect(chooseController({ candidates, target, protocol: 'tcp', range, port: 30001 })).toBe(b);
    expect(chooseController({ candidates, target, protocol: 'tcp', range, port: 30002 })).toBe(a);
  });

  test('skips controllers where the port (or any port) is not free', () => {
    const full = { '30000': 'x/a:1', '30001': 'x/b:1', '30002': 'x/c:1' };
    expect(chooseController({ candidates: [{ controller: a, data: full }, { controller: controller('z', [30000, 30001, 30002]), data: {} }, { controller: b, data: { '30000': 'x/a:1', '30001': 'x/b:1' } }], target, protocol: 'tcp', range })).toBe(b);
    expect(chooseController({ candidates: [{ controller: a, data: {} }, { controller: b, data: { '30000': 'x/a:1' } }], target, protocol: 'tcp', range, port: 30000 })).toBe(a);
    const taken = thrown(() => chooseController({ candidates: [{ controller: a, data: full }], target, protocol: 'tcp', range, port: 30000 }));
    expect([taken.code, taken.details]).toEqual(['PORT_TAKEN', { port: 30000, protocol: 'tcp', ips: ['ip-a'] }]);
    expect(thrown(() => chooseController({ candidates: [{ controller: a, data: full }], target, protocol: 'tcp', range })).code).toBe('NO_FREE_PORT');
  });
});
