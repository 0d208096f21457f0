// Port claims against the in-memory Kubernetes API (dev/cluster): real HTTP through client-node.
import { describe, expect, test } from 'vitest';
import type { Cluster } from '../../../../../../dev/cluster/index.js';
import {
  backends,
  clusterPerTest,
  configMapData,
  CONTROLLER_B,
  expectAgreement,
  expectedPorts,
  ingressFor,
  lbIp,
  LB_NAMESPACE,
  service,
  servicePorts,
  sortedPorts,
} from './cluster.js';
import { rejectionOf } from '../../function-error.js';

let cluster: Cluster | undefined;

/** Every cluster has the backends tenants/svc-0..199 (TCP 5432) and tenants/dns (TCP and UDP 53). */
const startIngressCluster = clusterPerTest([...backends('tenants', 'svc-', 200), service('tenants', 'dns', [{ port: 53 }, { port: 53, protocol: 'UDP' }])]);

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
const target = (i: number) => ({ namespace: 'tenants', serviceName: `svc-${i}`, servicePort: 5432, protocol: 'tcp' as const });

describe('concurrent claims', () => {
  test('200 claims in one instance get 200 distinct ports; ConfigMap and Service agree exactly', async () => {
    cluster = await startIngressCluster();
    const ingress = ingressFor(cluster);
    const results = await Promise.all(range(0, 200).map((i) => ingress.claim(target(i))));

    expect(results.map((r) => r.port).sort((a, b) => a - b)).toEqual(range(30000, 200));
    expect(results.every((r) => r.created && r.ip === lbIp(cluster!, 'nginx-a') && r.protocol === 'tcp')).toBe(true);
    expect(configMapData(cluster, 'tcp-services')).toEqual(
      Object.fromEntries(results.map((r) => [String(r.port), `tenants/${r.serviceName}:5432`])),
    );
    expectAgreement(cluster);
    // Coalesced: one writer per ConfigMap in the process, so no write ever conflicts, and claims
    // that arrive while a write is in flight share the next one.
    expect(cluster.requests.count({ status: 409 })).toBe(0);
    expect(cluster.requests.count({ verb: 'update', resource: 'configmaps' })).toBeLessThan(200);
  });

  test('several independent claimers (like replicas) racing on one ConfigMap lose no entry', async () => {
    cluster = await startIngressCluster();
    const replicas = range(0, 4).map(() => ingressFor(cluster!));
    const results = await Promise.all(range(0, 200).map((i) => replicas[i % 4].claim(target(i))));

    expect(new Set(results.map((r) => r.port)).size).toBe(200);
    // Every write was a CAS on the latest state, so the claimed ports form a gap-free prefix.
    expect(results.map((r) => r.port).sort((a, b) => a - b)).toEqual(range(30000, 200));
    const data = configMapData(cluster, 'tcp-services')!;
    expect(Object.keys(data)).toHaveLength(200);
    for (const r of results) expect(data[String(r.port)]).toBe(`tenants/${r.serviceName}:5432`);
    expectAgreement(cluster);
  });

  test('without coalescing every claim runs its own CAS loop and still gets a distinct port', async () => {
    cluster = await startIngressCluster();
    const ingress = ingressFor(cluster, { coalesce: false, cas: { attempts: 500, baseDelayMs: 1, maxDelayMs: 20 } });
    const results = await Promise.all(range(0, 20).map((i) => ingress.claim(target(i))));
    expect(results.map((r) => r.port).sort((a, b) => a - b)).toEqual(range(30000, 20));
    expect(ingress.kube.stats.conflicts).toBeGreaterThan(0);
    expectAgreement(cluster);
  });

  test('forced 409s on the ConfigMap and the Service are retried', async () => {
    cluster = await startIngressCluster();
    const ingress = ingressFor(cluster);
    await ingress.claim(target(0));
    cluster.requests.reset();
    cluster.faults.conflictNext({ resource: 'configmaps', namespace: LB_NAMESPACE, name: 'tcp-services' });
    cluster.faults.conflictNext({ resource: 'services', namespace: LB_NAMESPACE, name: 'nginx-a' });

    expect(await ingress.claim(target(1))).toEqual({ ...target(1), ip: lbIp(cluster, 'nginx-a'), port: 30001, created: true });
    expect(cluster.requests.count({ verb: 'update', resource: 'configmaps', status: 409 })).toBe(1);
    expect(cluster.requests.count({ verb: 'update', resource: 'configmaps', status: 200 })).toBe(1);
    expect(cluster.requests.count({ verb: 'update', resource: 'services', status: 409 })).toBe(1);
    expect(cluster.requests.count({ verb: 'update', resource: 'services', status: 200 })).toBe(1);
    expectAgreement(cluster);
  });

  test('a ConfigMap that keeps changing ends in CONFLICT (409) after the bounded attempts', async () => {
    cluster = await startIngressCluster();
    const ingress = ingressFor(cluster, { cas: { attempts: 3, baseDelayMs: 1 } });
    await ingress.claim(target(0));
    for (let i = 0; i < 3; i++) cluster.faults.conflictNext({ resource: 'configmaps', namespace: LB_NAMESPACE, name: 'tcp-services' });
    const err = await rejectionOf(ingress.claim(target(1)));
    expect(err.toJSON()).toEqual({
      error: {
        code: 'CONFLICT',
        message: `ConfigMap ${LB_NAMESPACE}/tcp-services kept changing; gave up after 3 write attempts`,
        details: { configMap: `${LB_NAMESPACE}/tcp-services`, attempts: 3 },
      },
    });
    expect(err.status).toBe(409);
  });
});

describe('claim rules', () => {
  test('the ConfigMap is created on the first claim; a repeated claim returns the same port', async () => {
    cluster = await startIngressCluster();
    const ingress = ingressFor(cluster);
    expect(configMapData(cluster, 'tcp-services')).toBeUndefined();
    const first = await ingress.claim(target(7));
    expect(first).toEqual({ ...target(7), ip: lbIp(cluster, 'nginx-a'), port: 30000, created: true });
    expect(await ingress.claim(target(7))).toEqual({ ...first, created: false });
    expect(configMapData(cluster, 'tcp-services')).toEqual({ '30000': 'tenants/svc-7:5432' });
    expectAgreement(cluster);
  });

  test('a requested port: taken once, idempotent for the same backend, PORT_TAKEN for another, policy outside the range', async () => {
    cluster = await startIngressCluster();
    const ingress = ingressFor(cluster);
    const ip = lbIp(cluster, 'nginx-a');
    expect(await ingress.claim({ ...target(1), port: 30500 })).toEqual({ ...target(1), ip, port: 30500, created: true });
    expect(await ingress.claim({ ...target(1), port: 30500 })).toEqual({ ...target(1), ip, port: 30500, created: false });
    expect((await rejectionOf(ingress.claim({ ...target(2), port: 30500 }))).toJSON()).toEqual({
      error: {
        code: 'PORT_TAKEN',
        message: `Port 30500/tcp on ${ip} is already mapped to tenants/svc-1:5432`,
        details: { ip, port: 30500, protocol: 'tcp', backend: 'tenants/svc-1:5432' },
      },
    });
    const outside = await rejectionOf(ingress.claim({ ...target(2), port: 31000 }));
    expect([outside.code, outside.status, (outside.details as { rule: string }).rule]).toEqual(['FORBIDDEN_BY_POLICY', 403, 'port-range']);
    const reserved = await rejectionOf(ingressFor(cluster, { portRange: { from: 1, to: 65535 } }).claim({ ...target(2), port: 443 }));
    expect([reserved.code, (reserved.details as { rule: string }).rule]).toEqual(['FORBIDDEN_BY_POLICY', 'port-reserved']);
    expect(configMapData(cluster, 'tcp-services')).toEqual({ '30500': 'tenants/svc-1:5432' });
  });

  test('a port opened on the controller Service by hand is neither handed out nor touched', async () => {
    cluster = await startIngressCluster();
    const svc = cluster.store.get({ resource: 'services', namespace: LB_NAMESPACE, name: 'nginx-a' }) as unknown as { spec: { ports: object[] } };
    svc.spec.ports.push({ name: 'ssh', port: 30000, targetPort: 22, protocol: 'TCP' });
    cluster.store.update(svc);
    const ingress = ingressFor(cluster);
    const ip = lbIp(cluster, 'nginx-a');

    expect(await ingress.claim(target(1))).toEqual({ ...target(1), ip, port: 30001, created: true });
    expect((await rejectionOf(ingress.claim({ ...target(2), port: 30000 }))).toJSON()).toEqual({
      error: {
        code: 'PORT_TAKEN',
        message: `Port 30000/tcp on ${ip} is already open on the ingress controller Service`,
        details: { ip, port: 30000, protocol: 'tcp' },
      },
    });
    expect(sortedPorts(servicePorts(cluster))).toEqual(
      sortedPorts([...expectedPorts({ '30001': 'x' }), { name: 'ssh', port: 30000, targetPort: 22, protocol: 'TCP' }]),
    );
  });

  test('a full range answers NO_FREE_PORT (507)', async () => {
    cluster = await startIngressCluster();
    const ingress = ingressFor(cluster, { portRange: { from: 30000, to: 30002 } });
    await Promise.all(range(0, 3).map((i) => ingress.claim(target(i))));
    const err = await rejectionOf(ingress.claim(target(3)));
    const ip = lbIp(cluster, 'nginx-a');
    expect(err.toJSON()).toEqual({
      error: {
        code: 'NO_FREE_PORT',
        message: `No free tcp port left in 30000-30002 on ${ip}`,
        details: { ip, protocol: 'tcp', range: { from: 30000, to: 30002 } },
      },
    });
    expect(err.status).toBe(507);
    // Still idempotent for a backend that has its port.
    expect((await ingress.claim(target(1))).created).toBe(false);
  });

  test('TCP and UDP side by side on the same port number', async () => {
    cluster = await startIngressCluster();
    const ingress = ingressFor(cluster);
    const ip = lbIp(cluster, 'nginx-a');
    const dns = { namespace: 'tenants', serviceName: 'dns', servicePort: 53 };
    expect(await ingress.claim({ ...dns, protocol: 'tcp' })).toEqual({ ...dns, protocol: 'tcp', ip, port: 30000, created: true });
    expect(await ingress.claim({ ...dns, protocol: 'udp' })).toEqual({ ...dns, protocol: 'udp', ip, port: 30000, created: true });
    expect(configMapData(cluster, 'tcp-services')).toEqual({ '30000': 'tenants/dns:53' });
    expect(configMapData(cluster, 'udp-services')).toEqual({ '30000': 'tenants/dns:53' });
    expect(sortedPorts(servicePorts(cluster))).toEqual(
      sortedPorts([
        ...expectedPorts(),
        { name: 'tcp-30000', port: 30000, targetPort: 30000, protocol: 'TCP' },
        { name: 'udp-30000', port: 30000, targetPort: 30000, protocol: 'UDP' },
      ]),
    );
  });

  test('the backend Service must exist and have the port with that protocol', async () => {
    cluster = await startIngressCluster();
    const ingress = ingressFor(cluster);
    expect((await rejectionOf(ingress.claim({ ...target(1), serviceName: 'nope' }))).toJSON()).toEqual({
      error: { code: 'SERVICE_NOT_FOUND', message: 'Service tenants/nope not found', details: { namespace: 'tenants', serviceName: 'nope' } },
    });
    const wrong = await rejectionOf(ingress.claim({ ...target(1), protocol: 'udp' }));
    expect([wrong.status, wrong.toJSON()]).toEqual([
      400,
      {
        error: {
          code: 'INVALID_INPUT',
          message: 'The request body is invalid',
          details: [{ path: '/servicePort', message: 'Service tenants/svc-1 has no UDP port 5432 (it has 5432/TCP)' }],
        },
      },
    ]);
    expect(configMapData(cluster, 'tcp-services')).toBeUndefined();
  });

  test('no controller: NO_INGRESS_CONTROLLER (503)', async () => {
    cluster = await startIngressCluster({ controllers: [] });
    const err = await rejectionOf(ingressFor(cluster).claim(target(0)));
    expect(err.toJSON()).toEqual({
      error: {
        code: 'NO_INGRESS_CONTROLLER',
        message: `No LoadBalancer Service with an external address and label appingress=nginx in namespace ${LB_NAMESPACE}`,
        details: { namespace: LB_NAMESPACE, labelSelector: 'appingress=nginx' },
      },
    });
    expect(err.status).toBe(503);
  });
});

describe('two controllers', () => {
  test('lbip picks the controller; otherwise the least used; unknown lbip is 404; annotations name the ConfigMaps', async () => {
    cluster = await startIngressCluster({
      controllers: [{ name: 'nginx-a' }, CONTROLLER_B],
    });
    const ingress = ingressFor(cluster);
    const a = lbIp(cluster, 'nginx-a');
    const b = lbIp(cluster, 'nginx-b');

    expect((await ingress.claim({ ...target(1), lbip: b })).ip).toBe(b);
    // a has fewer entries now; then they tie and a wins by name.
    expect((await ingress.claim(target(2))).ip).toBe(a);
    expect((await ingress.claim(target(3))).ip).toBe(a);
    expect((await ingress.claim(target(4))).ip).toBe(b);
    // A repeat without lbip lands where the backend already is, not on the least used controller.
    expect(await ingress.claim(target(1))).toEqual({ ...target(1), ip: b, port: 30000, created: false });

    expect(configMapData(cluster, 'tcp-services')).toEqual({ '30000': 'tenants/svc-2:5432', '30001': 'tenants/svc-3:5432' });
    expect(configMapData(cluster, 'tcp-b')).toEqual({ '30000': 'tenants/svc-1:5432', '30001': 'tenants/svc-4:5432' });
    expectAgreement(cluster);
    expectAgreement(cluster, { controller: 'nginx-b', tcp: 'tcp-b', udp: 'udp-b' });

    const err = await rejectionOf(ingress.claim({ ...target(5), lbip: '198.51.100.7' }));
    expect(err.toJSON()).toEqual({
      error: {
        code: 'INGRESS_CONTROLLER_NOT_FOUND',
        message: 'No ingress controller has the address 198.51.100.7',
        details: { lbip: '198.51.100.7', known: [a, b] },
      },
    });
    expect(err.status).toBe(404);

    expect(await ingress.lookup({ protocol: 'tcp', lbip: b })).toEqual({ ip: b, port: 30002, protocol: 'tcp' });
    expect(await ingress.lookup({ protocol: 'udp' })).toEqual({ ip: a, port: 30000, protocol: 'udp' });
  });
});
