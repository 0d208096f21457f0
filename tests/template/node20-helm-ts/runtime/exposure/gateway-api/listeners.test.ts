import { describe, expect, test } from 'vitest';
import {
  alignOp,
  claimOp,
  contains,
  GatewayRefused,
  lowestFree,
  MAX_LISTENERS,
  recordedRules,
  removeOp,
  ruleAnnotation,
  stateOf,
  type GatewayState,
} from '#runtime/exposure/gateway-api/listeners.js';

const range = { from: 30000, to: 30009 };
const target = (name: string) => ({ namespace: 'tenants', serviceName: name, servicePort: 5432 });
const http = { name: 'http', protocol: 'HTTP', port: 80 };
const claim = (name: string, extra: Partial<Parameters<typeof claimOp>[0]> = {}) =>
  claimOp({ target: target(name), protocol: 'tcp', range, blocked: new Set(), routes: 'service', where: 'gw', ...extra });
const fresh = (): GatewayState => stateOf({ metadata: { annotations: { owner: 'team' } }, spec: { listeners: [http] } });

function refusal(fn: () => unknown): GatewayRefused {
  try {
    fn();
  } catch (err) {
    if (err instanceof GatewayRefused) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('claimOp', () => {
  test('adds a listener that admits only the route kind from the Service namespace, and records the backend', () => {
    const state = fresh();
    expect(claim('a')(state)).toEqual({ port: 30000, created: true });
    expect(state.listeners).toEqual([
      http,
      {
        name: 'tcp-30000',
        protocol: 'TCP',
        port: 30000,
        allowedRoutes: {
          namespaces: { from: 'Selector', selector: { matchLabels: { 'kubernetes.io/metadata.name': 'tenants' } } },
          kinds: [{ group: 'gateway.networking.k8s.io', kind: 'TCPRoute' }],
        },
      },
    ]);
    expect(state.annotations).toEqual({ owner: 'team', [ruleAnnotation('tcp', 30000)]: 'tenants/a:5432' });
  });

  test('routes in the Gateway namespace: the listener admits its own namespace only', () => {
    const state = fresh();
    claim('a', { protocol: 'udp', routes: 'gateway' })(state);
    expect(state.listeners[1]).toMatchObject({ name: 'udp-30000', protocol: 'UDP', allowedRoutes: { namespaces: { from: 'Same' }, kinds: [{ kind: 'UDPRoute' }] } });
  });

  test('is idempotent, and puts back a listener that went missing', () => {
    const state = fresh();
    claim('a')(state);
    const before = structuredClone(state);
    expect(claim('a')(state)).toEqual({ port: 30000, created: false });
    expect(state).toEqual(before);
    state.listeners = [http];
    expect(claim('a')(state)).toEqual({ port: 30000, created: false });
    expect(state).toEqual(before);
  });

  test('skips ports of foreign listeners, recorded rules and blocked ports; TCP and UDP are separate', () => {
    const state = stateOf({ metadata: {}, spec: { listeners: [http, { name: 'custom', protocol: 'TCP', port: 30000 }] } });
    state.annotations[ruleAnnotation('tcp', 30001)] = 'tenants/z:1';
    expect(claim('a', { blocked: new Set([30002]) })(state).port).toBe(30003);
    expect(claim('b', { protocol: 'udp' })(state).port).toBe(30000);
    expect(refusal(() => claim('c', { port: 30000 })(state))).toMatchObject({ reason: 'port-taken', error: { code: 'PORT_TAKEN' } });
    expect(refusal(() => claim('c', { port: 30001 })(state)).error.details).toMatchObject({ backend: 'tenants/z:1' });
  });

  test(`refuses when the Gateway has ${MAX_LISTENERS} listeners or no free port, without touching it`, () => {
    const full = stateOf({
      metadata: {},
      spec: { listeners: Array.from({ length: MAX_LISTENERS }, (_, i) => ({ name: `l${i}`, protocol: 'TCP', port: 40000 + i })) },
    });
    const before = structuredClone(full);
    expect(refusal(() => claim('a')(full))).toMatchObject({ reason: 'full', error: { code: 'NO_FREE_PORT' } });
    expect(full).toEqual(before);
    expect(lowestFree(full, 'tcp', range, new Set())).toBeUndefined();

    const state = fresh();
    expect(refusal(() => claim('a', { range: { from: 30000, to: 30000 }, blocked: new Set([30000]) })(state)).reason).toBe('no-free-port');
  });
});

describe('removeOp and alignOp', () => {
  test('removeOp drops the matching rules with their listeners only', () => {
    const state = fresh();
    claim('a')(state);
    claim('b')(state);
    const removed = removeOp((r) => r.target.serviceName === 'a')(state);
    expect(removed).toEqual([{ protocol: 'tcp', port: 30000, target: target('a'), value: 'tenants/a:5432' }]);
    expect(state.listeners.map((l) => l.name)).toEqual(['http', 'tcp-30001']);
    expect(recordedRules(state.annotations).map((r) => r.port)).toEqual([30001]);
  });

  test('alignOp: listeners of our naming without a rule go, rules without a listener get one, others stay', () => {
    const state = fresh();
    claim('a')(state);
    claim('b')(state);
    state.listeners = state.listeners.filter((l) => l.name !== 'tcp-30001');
    state.listeners.push({ name: 'udp-31000', protocol: 'UDP', port: 31000 }, { name: 'custom', protocol: 'TCP', port: 31001 });
    expect(alignOp('service')(state)).toEqual([
      { protocol: 'udp', port: 31000, action: 'removed' },
      { protocol: 'tcp', port: 30001, action: 'added' },
    ]);
    expect(state.listeners.map((l) => l.name)).toEqual(['http', 'tcp-30000', 'custom', 'tcp-30001']);
    expect(alignOp('service')(state)).toEqual([]);
  });

  test('recordedRules ignores malformed annotations', () => {
    expect(recordedRules({ [ruleAnnotation('tcp', 1)]: 'not a target', 'rules.helm-deployer.openfaas.com/x': 'a/b:1', other: 'a/b:1' })).toEqual([]);
  });
});

describe('contains', () => {
  test('fields the API server defaulted do not count; everything we set does', () => {
    expect(contains({ a: 1, b: { c: 2, d: 3 }, e: [{ f: 1, g: 2 }] }, { a: 1, b: { c: 2 }, e: [{ f: 1 }] })).toBe(true);
    expect(contains({ a: 1 }, { a: 2 })).toBe(false);
    expect(contains({ e: [{ f: 1 }, { f: 2 }] }, { e: [{ f: 1 }] })).toBe(false);
    expect(contains({ b: 'x' }, { b: { c: 1 } })).toBe(false);
  });
});
