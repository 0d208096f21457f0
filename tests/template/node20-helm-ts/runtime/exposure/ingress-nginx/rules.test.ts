// Delete, list, repair and self-healing against the in-memory Kubernetes API (dev/cluster).
import { describe, expect, test } from 'vitest';
import type { Cluster } from '../../../../../../dev/cluster/index.js';
import {
  clusterPerTest,
  configMapData,
  CONTROLLER_B,
  expectAgreement,
  expectedPorts,
  ingressFor,
  lbIp,
  LB_NAMESPACE,
  namespace,
  service,
  servicePorts,
  sortedPorts,
} from './cluster.js';

let cluster: Cluster | undefined;

/** Backends in namespace t: dns (TCP and UDP 53), app (TCP 80, UDP 81), other (TCP 80), a and b (TCP and UDP 5432). */
const startIngressCluster = clusterPerTest([
  namespace('t'),
  service('t', 'dns', [{ port: 53 }, { port: 53, protocol: 'UDP' }]),
  service('t', 'app', [{ port: 80 }, { port: 81, protocol: 'UDP' }]),
  service('t', 'other', 80),
  service('t', 'a', [{ port: 5432 }, { port: 5432, protocol: 'UDP' }]),
  service('t', 'b', 5432),
]);

const backend = (ns: string, serviceName: string, servicePort = 5432) => ({ namespace: ns, serviceName, servicePort });

describe('delete', () => {
  test('by port and protocol leaves the other protocol; deleting again answers an empty list', async () => {
    cluster = await startIngressCluster();
    const ingress = ingressFor(cluster);
    const ip = lbIp(cluster, 'nginx-a');
    await ingress.claim({ ...backend('t', 'dns', 53), protocol: 'tcp' });
    await ingress.claim({ ...backend('t', 'dns', 53), protocol: 'udp' });

    expect(await ingress.remove({ port: 30000, protocol: 'tcp' })).toEqual([{ ip, port: 30000, protocol: 'tcp', ...backend('t', 'dns', 53) }]);
    expect(await ingress.remove({ port: 30000, protocol: 'tcp' })).toEqual([]);
    expect(configMapData(cluster, 'tcp-services')).toEqual({});
    expect(configMapData(cluster, 'udp-services')).toEqual({ '30000': 't/dns:53' });
    expectAgreement(cluster);
  });

  test('by backend removes every matching rule on every controller, both protocols; servicePort narrows', async () => {
    cluster = await startIngressCluster({ controllers: [{ name: 'nginx-a' }, CONTROLLER_B] });
    const ingress = ingressFor(cluster);
    const a = lbIp(cluster, 'nginx-a');
    const b = lbIp(cluster, 'nginx-b');
    await ingress.claim({ ...backend('t', 'app', 80), protocol: 'tcp', lbip: a });
    await ingress.claim({ ...backend('t', 'app', 80), protocol: 'tcp', lbip: b });
    await ingress.claim({ ...backend('t', 'app', 81), protocol: 'udp', lbip: b });
    await ingress.claim({ ...backend('t', 'other', 80), protocol: 'tcp', lbip: a });

    expect(await ingress.remove({ namespace: 't', serviceName: 'app', servicePort: 81 })).toEqual([
      { ip: b, port: 30000, protocol: 'udp', ...backend('t', 'app', 81) },
    ]);
    expect(await ingress.remove({ namespace: 't', serviceName: 'app' })).toEqual([
      { ip: a, port: 30000, protocol: 'tcp', ...backend('t', 'app', 80) },
      { ip: b, port: 30000, protocol: 'tcp', ...backend('t', 'app', 80) },
    ]);
    expect(await ingress.remove({ namespace: 't', serviceName: 'app' })).toEqual([]);
    expect(await ingress.list()).toEqual([{ ip: a, port: 30001, protocol: 'tcp', ...backend('t', 'other', 80) }]);
    expect(sortedPorts(servicePorts(cluster, 'nginx-b'))).toEqual(sortedPorts(expectedPorts()));
    expectAgreement(cluster);
  });
});

describe('repair', () => {
  test('removes rules whose Service or namespace is gone; a dry run changes nothing', async () => {
    cluster = await startIngressCluster({
      seed: [namespace('t1'), namespace('t2'), service('t1', 'db'), service('t1', 'cache', 6379), service('t2', 'mq', [{ port: 5672, protocol: 'UDP' }])],
    });
    const ingress = ingressFor(cluster);
    const ip = lbIp(cluster, 'nginx-a');
    await ingress.claim({ ...backend('t1', 'db'), protocol: 'tcp' });
    await ingress.claim({ ...backend('t1', 'cache', 6379), protocol: 'tcp' });
    await ingress.claim({ ...backend('t2', 'mq', 5672), protocol: 'udp' });
    cluster.store.delete({ resource: 'services', namespace: 't1', name: 'cache' });
    cluster.store.delete({ resource: 'namespaces', name: 't2' });

    const before = { tcp: configMapData(cluster, 'tcp-services'), udp: configMapData(cluster, 'udp-services'), ports: servicePorts(cluster) };
    cluster.requests.reset();
    const gone = [
      { ip, port: 30001, protocol: 'tcp', ...backend('t1', 'cache', 6379), reason: 'ServiceNotFound' },
      { ip, port: 30000, protocol: 'udp', ...backend('t2', 'mq', 5672), reason: 'ServiceNotFound' },
    ];
    expect(await ingress.repair()).toEqual({ dryRun: true, removed: gone, fixed: [] });
    expect(cluster.requests.filter().filter((r) => r.verb !== 'get' && r.verb !== 'list')).toEqual([]);
    expect({ tcp: configMapData(cluster, 'tcp-services'), udp: configMapData(cluster, 'udp-services'), ports: servicePorts(cluster) }).toEqual(before);

    expect(await ingress.repair({ dryRun: false })).toEqual({ dryRun: false, removed: gone, fixed: [] });
    expect(configMapData(cluster, 'tcp-services')).toEqual({ '30000': 't1/db:5432' });
    expect(configMapData(cluster, 'udp-services')).toEqual({});
    expectAgreement(cluster);
    expect(await ingress.repair({ dryRun: false })).toEqual({ dryRun: false, removed: [], fixed: [] });
  });
});

describe('crash between the ConfigMap write and the Service write', () => {
  const failServiceUpdates = (c: Cluster) =>
    c.faults.inject({ verb: 'update', resource: 'services', namespace: LB_NAMESPACE, name: 'nginx-a', status: 500 });

  test('the claim fails after its entry is written; the next claim opens the missing port', async () => {
    cluster = await startIngressCluster();
    const ingress = ingressFor(cluster);
    failServiceUpdates(cluster);
    await expect(ingress.claim({ ...backend('t', 'a'), protocol: 'tcp' })).rejects.toMatchObject({ code: 'KUBE_API_ERROR', status: 502 });
    expect(configMapData(cluster, 'tcp-services')).toEqual({ '30000': 't/a:5432' });
    expect(sortedPorts(servicePorts(cluster))).toEqual(sortedPorts(expectedPorts()));

    cluster.faults.clear();
    expect((await ingress.claim({ ...backend('t', 'b'), protocol: 'tcp' })).port).toBe(30001);
    expectAgreement(cluster);
    expect(sortedPorts(servicePorts(cluster))).toEqual(sortedPorts(expectedPorts({ '30000': '', '30001': '' })));
  });

  test('repair reports the mismatch in a dry run and fixes it when applied', async () => {
    cluster = await startIngressCluster();
    const ingress = ingressFor(cluster);
    const ip = lbIp(cluster, 'nginx-a');
    failServiceUpdates(cluster);
    await expect(ingress.claim({ ...backend('t', 'a'), protocol: 'udp' })).rejects.toMatchObject({ code: 'KUBE_API_ERROR' });
    cluster.faults.clear();

    const fixed = [{ ip, protocol: 'udp', port: 30000, action: 'added', object: 'service-port' }];
    expect(await ingress.repair()).toEqual({ dryRun: true, removed: [], fixed });
    expect(sortedPorts(servicePorts(cluster))).toEqual(sortedPorts(expectedPorts()));
    expect(await ingress.repair({ dryRun: false })).toEqual({ dryRun: false, removed: [], fixed });
    expectAgreement(cluster);
  });

  test('a delete that dies before closing the port is healed by the next claim', async () => {
    cluster = await startIngressCluster();
    const ingress = ingressFor(cluster);
    await ingress.claim({ ...backend('t', 'a'), protocol: 'tcp' });
    failServiceUpdates(cluster);
    await expect(ingress.remove({ namespace: 't', serviceName: 'a' })).rejects.toMatchObject({ code: 'KUBE_API_ERROR' });
    expect(configMapData(cluster, 'tcp-services')).toEqual({});
    expect(servicePorts(cluster).map((p) => p.name)).toContain('tcp-30000');

    cluster.faults.clear();
    // The port left open has no entry, so it is free again and reused.
    expect((await ingress.claim({ ...backend('t', 'b'), protocol: 'tcp' })).port).toBe(30000);
    expect(configMapData(cluster, 'tcp-services')).toEqual({ '30000': 't/b:5432' });
    expectAgreement(cluster);
  });
});
