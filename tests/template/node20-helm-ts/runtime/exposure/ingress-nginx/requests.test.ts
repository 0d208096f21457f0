// How many Kubernetes requests one claim or delete costs, counted in the emulator's request log.
// A claim is on the path of every deploy-and-expose call; more requests per claim is a regression.
import { describe, expect, test } from 'vitest';
import type { Cluster } from '../../../../../../dev/cluster/index.js';
import { backends, clusterPerTest, expectAgreement, ingressFor, service } from './cluster.js';

let cluster: Cluster | undefined;

const startIngressCluster = clusterPerTest([...backends('tenants', 'svc-', 3), service('tenants', 'dns', [{ port: 53 }, { port: 53, protocol: 'UDP' }])]);
const target = (i: number) => ({ namespace: 'tenants', serviceName: `svc-${i}`, servicePort: 5432, protocol: 'tcp' as const });

/** The requests since the last reset, as "<verb> <resource>" counters. */
function requests(c: Cluster): Record<string, number> {
  const counters = c.requests.counters();
  c.requests.reset();
  return counters;
}

describe('Kubernetes requests per operation', () => {
  test('a claim: list controllers, read the backend, read and write the ConfigMap, write the Service; no 409', async () => {
    cluster = await startIngressCluster();
    const ingress = ingressFor(cluster);
    cluster.requests.reset();

    // The first claim also creates the ConfigMap (its read answers 404).
    await ingress.claim(target(0));
    expect(requests(cluster)).toEqual({
      'list services': 1,
      'get services': 1,
      'get configmaps': 1,
      'create configmaps': 1,
      'update services': 1,
    });
    await ingress.claim(target(1));
    const steady = { 'list services': 1, 'get services': 1, 'get configmaps': 1, 'update configmaps': 1, 'update services': 1 };
    expect(requests(cluster)).toEqual(steady);
    // The same counts from a fresh instance (another replica: nothing cached in the process).
    await ingressFor(cluster).claim(target(2));
    expect(requests(cluster)).toEqual(steady);
    expect(cluster.requests.count({ status: 409 })).toBe(0);
    expectAgreement(cluster);
  });

  test('a repeated claim only reads; a delete of both protocols writes each ConfigMap and the Service once', async () => {
    cluster = await startIngressCluster();
    const ingress = ingressFor(cluster);
    const dns = { namespace: 'tenants', serviceName: 'dns', servicePort: 53 };
    await ingress.claim({ ...dns, protocol: 'tcp' });
    await ingress.claim({ ...dns, protocol: 'udp' });
    cluster.requests.reset();

    expect((await ingress.claim({ ...dns, protocol: 'udp' })).created).toBe(false);
    expect(requests(cluster)).toEqual({ 'list services': 1, 'get services': 1, 'get configmaps': 1 });

    expect(await ingress.remove({ namespace: 'tenants', serviceName: 'dns' })).toHaveLength(2);
    expect(requests(cluster)).toEqual({ 'list services': 1, 'get configmaps': 2, 'update configmaps': 2, 'update services': 1 });
    expectAgreement(cluster);
  });
});
