// The Service sync may start from objects a caller already holds, but only in the order that keeps it
// safe across replicas: the Service seen before every ConfigMap used with it.
import type { CoreV1Api, V1ConfigMap, V1Service } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import type { Cluster } from '../../../../../../dev/cluster/index.js';
import { makeCoreV1Api } from '#runtime/kube.js';
import type { Seen } from '#runtime/exposure/ingress-nginx/kube-api.js';
import { listControllers } from '#runtime/exposure/ingress-nginx/controllers.js';
import { createIngressKube } from '#runtime/exposure/ingress-nginx/kube-api.js';
import { createServiceSync, startingPoint, type Known } from '#runtime/exposure/ingress-nginx/service-sync.js';
import { backends, clusterPerTest, configMapData, expectAgreement, ingressConfig, ingressFor, LB_NAMESPACE, servicePorts } from './cluster.js';

/** Objects stamped by hand: [sent, received]. */
function stamps(entries: [object, number, number][]): { seenAt(o: object): Seen | undefined } {
  const map = new Map<object, Seen>(entries.map(([o, sent, received]) => [o, { sent, received }]));
  return { seenAt: (o) => map.get(o) };
}

const svc = (name: string): V1Service => ({ metadata: { name } });
const cm = (name: string): V1ConfigMap => ({ metadata: { name } });

describe('startingPoint', () => {
  test('a Service seen before the ConfigMap: both are used', () => {
    const [s, c] = [svc('listed'), cm('written')];
    const known: Known = { services: [s], configMaps: { tcp: [c] } };
    expect(startingPoint(stamps([[s, 1, 2], [c, 3, 4]]), known, ['tcp'])).toEqual({ service: s, configMaps: { tcp: c } });
  });

  test('the freshest Service is taken; a ConfigMap seen before it is read again', () => {
    const [listed, rewritten, c] = [svc('listed'), svc('rewritten'), cm('written')];
    const known: Known = { services: [listed, rewritten], configMaps: { tcp: [c] } };
    expect(startingPoint(stamps([[listed, 1, 2], [c, 3, 4], [rewritten, 5, 6]]), known, ['tcp'])).toEqual({ service: rewritten, configMaps: {} });
    // Seen while the ConfigMap request was in flight: not known to be older either.
    expect(startingPoint(stamps([[listed, 1, 2], [c, 3, 5], [rewritten, 2, 4]]), known, ['tcp'])).toEqual({ service: rewritten, configMaps: {} });
  });

  test('of several callers, the ConfigMap seen after all the others; none when two overlap', () => {
    const [s, first, second] = [svc('listed'), cm('first'), cm('second')];
    const known: Known = { services: [s], configMaps: { tcp: [first, second] } };
    expect(startingPoint(stamps([[s, 1, 2], [first, 3, 4], [second, 5, 6]]), known, ['tcp'])).toEqual({ service: s, configMaps: { tcp: second } });
    expect(startingPoint(stamps([[s, 1, 2], [first, 3, 6], [second, 4, 5]]), known, ['tcp'])).toEqual({ service: s, configMaps: {} });
  });

  test('a caller without a ConfigMap, an object this process never saw or no Service: read again', () => {
    const [s, c, stranger] = [svc('listed'), cm('written'), cm('stranger')];
    const seen = stamps([[s, 1, 2], [c, 3, 4]]);
    expect(startingPoint(seen, { services: [s], configMaps: { tcp: [c, undefined] } }, ['tcp'])).toEqual({ service: s, configMaps: {} });
    expect(startingPoint(seen, { services: [s], configMaps: { tcp: [stranger] } }, ['tcp'])).toEqual({ service: s, configMaps: {} });
    expect(startingPoint(seen, { services: [s], configMaps: {} }, ['tcp', 'udp'])).toEqual({ service: s, configMaps: {} });
    expect(startingPoint(seen, { services: [svc('unstamped')], configMaps: { tcp: [c] } }, ['tcp'])).toEqual({ configMaps: {} });
  });
});

let cluster: Cluster | undefined;
const startIngressCluster = clusterPerTest(backends('tenants', 'svc-', 3));
const target = (i: number) => ({ namespace: 'tenants', serviceName: `svc-${i}`, servicePort: 5432, protocol: 'tcp' as const });

/** A CoreV1Api that runs `before` once, just before the first call of `method`. */
function pausing(api: CoreV1Api, method: keyof CoreV1Api, before: () => Promise<unknown>): CoreV1Api {
  let pending: (() => Promise<unknown>) | undefined = before;
  return new Proxy(api, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (prop !== method) return value.bind(target);
      return async (...args: unknown[]) => {
        const run = pending;
        pending = undefined;
        if (run) await run();
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

describe('a claim whose listed Service went stale', () => {
  test('another replica opens a port meanwhile: the Service write meets 409, is redone from fresh reads and keeps both', async () => {
    cluster = await startIngressCluster();
    const other = ingressFor(cluster);
    await other.claim(target(0));
    // This replica lists the controller, then the other one claims before this one writes its ConfigMap.
    const api = pausing(makeCoreV1Api(ingressConfig(cluster)), 'replaceNamespacedConfigMap', () => other.claim(target(1)));
    const ingress = ingressFor(cluster, { api });
    cluster.requests.reset();

    expect((await ingress.claim(target(2))).port).toBe(30002);
    expect(configMapData(cluster, 'tcp-services')).toEqual({
      '30000': 'tenants/svc-0:5432',
      '30001': 'tenants/svc-1:5432',
      '30002': 'tenants/svc-2:5432',
    });
    expectAgreement(cluster);
    // Both stale writes of this replica were refused and redone; the other replica's went through.
    expect(cluster.requests.count({ verb: 'update', resource: 'configmaps', namespace: LB_NAMESPACE, status: 409 })).toBe(1);
    expect(cluster.requests.count({ verb: 'update', resource: 'services', namespace: LB_NAMESPACE, status: 409 })).toBe(1);
    expect(cluster.requests.count({ verb: 'update', resource: 'services', namespace: LB_NAMESPACE, status: 200 })).toBe(2);
    expect(ingress.writer.stats).toEqual({ operations: 1, retries: 1, maxRetries: 1 });
  });
});

describe('callers in one process whose ConfigMaps follow each other', () => {
  test("a claim's sync that runs after a later delete's sync works from the delete's ConfigMap, not its own older one", async () => {
    cluster = await startIngressCluster();
    const kube = createIngressKube({ api: makeCoreV1Api(ingressConfig(cluster)) });
    const [controller] = await listControllers({ kube, config: ingressConfig(cluster) });
    const ref = controller.configMaps.tcp;
    // The claim wrote its entry (W1), then a delete removed it again (W2), both on the listed Service.
    const claimed = await kube.createConfigMap(ref, { metadata: { name: ref.name, namespace: ref.namespace }, data: { '30000': 'tenants/svc-0:5432' } });
    const deleted = await kube.replaceConfigMap(ref, { ...claimed, data: {} });
    const sync = createServiceSync({ kube });

    await sync.sync(controller, ['tcp'], { service: controller.object, configMaps: { tcp: deleted } });
    await sync.sync(controller, ['tcp'], { service: controller.object, configMaps: { tcp: claimed } });
    expect(servicePorts(cluster, controller.service.name).map((p) => p.name)).toEqual(['http', 'https']);
    expectAgreement(cluster, { controller: controller.service.name });
  });
});
