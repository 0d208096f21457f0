// The same exposure tests against every backend (ingress-nginx and Gateway API) on the emulated
// cluster: what must hold is what the data plane would forward, whatever objects carry it.
import { describe, expect, test } from 'vitest';
import { rejectionOf } from '../function-error.js';
import { backends, clustersPerTest, HARNESSES, service } from './harness.js';

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
const target = (i: number) => ({ namespace: 'tenants', serviceName: `svc-${i}`, servicePort: 5432, protocol: 'tcp' as const });
const seed = [...backends('tenants', 'svc-', 60), service('tenants', 'dns', [{ port: 53 }, { port: 53, protocol: 'UDP' }])];

describe.each(HARNESSES)('$name backend', (harness) => {
  const start = clustersPerTest(harness);

  test('concurrent claims get distinct ports, and each port forwards to its own backend', async () => {
    const cluster = await start({ seed });
    const backend = harness.backend(cluster);
    const results = await Promise.all(range(0, 50).map((i) => backend.claim(target(i))));

    expect(results.map((r) => r.port).sort((a, b) => a - b)).toEqual(range(30000, 50));
    const [ip] = harness.addresses(cluster);
    expect(harness.dataPlane(cluster)).toEqual(new Map(results.map((r) => [`${ip} tcp/${r.port}`, `tenants/${r.serviceName}:5432`])));
    // One writer per shared object in the process: claims waiting together share a write. (A
    // Gateway's own controller writes its status as routes attach, so there a write may still
    // meet a 409 and be rendered again; the tcp ConfigMap has no other writer.)
    const writes = cluster.requests.count({ verb: 'update', resource: harness.name === 'gateway-api' ? 'gateways' : 'configmaps' });
    expect(writes).toBeGreaterThan(0);
    expect(writes).toBeLessThan(50);
    if (harness.name === 'ingress-nginx') expect(cluster.requests.count({ status: 409 })).toBe(0);
  });

  test('independent instances (replicas) racing on the same shared object lose no claim', async () => {
    const cluster = await start({ seed });
    const replicas = range(0, 4).map(() => harness.backend(cluster, { cas: { attempts: 200, baseDelayMs: 1, maxDelayMs: 10 } }));
    const results = await Promise.all(range(0, 40).map((i) => replicas[i % 4].claim(target(i))));

    expect(new Set(results.map((r) => r.port)).size).toBe(40);
    const plane = harness.dataPlane(cluster);
    expect(plane.size).toBe(40);
    for (const r of results) expect(plane.get(`${r.ip} tcp/${r.port}`)).toBe(`tenants/${r.serviceName}:5432`);
  });

  test('a repeated claim keeps its port; concurrent duplicates create it once', async () => {
    const cluster = await start({ seed });
    const backend = harness.backend(cluster);
    const first = await backend.claim(target(1));
    expect(first).toMatchObject({ port: 30000, created: true });
    expect(await backend.claim(target(1))).toEqual({ ...first, created: false });

    const again = await Promise.all(range(0, 10).map(() => harness.backend(cluster).claim(target(2))));
    expect(new Set(again.map((r) => r.port))).toEqual(new Set([30001]));
    expect(again.filter((r) => r.created)).toHaveLength(1);
    expect(harness.dataPlane(cluster).size).toBe(2);
  });

  test('delete removes the rule from the data plane and frees its port; deleting nothing answers []', async () => {
    const cluster = await start({ seed });
    const backend = harness.backend(cluster);
    const [a, b] = [await backend.claim(target(0)), await backend.claim(target(1))];

    const deleted = await backend.remove({ namespace: 'tenants', serviceName: 'svc-0' });
    expect(deleted).toEqual([{ ip: a.ip, port: a.port, protocol: 'tcp', namespace: 'tenants', serviceName: 'svc-0', servicePort: 5432 }]);
    expect([...harness.dataPlane(cluster).keys()]).toEqual([`${b.ip} tcp/${b.port}`]);
    expect(await backend.list()).toEqual([{ ip: b.ip, port: b.port, protocol: 'tcp', namespace: 'tenants', serviceName: 'svc-1', servicePort: 5432 }]);
    expect(await backend.remove({ port: a.port })).toEqual([]);
    // The freed port is the lowest free one again.
    expect(await backend.lookup({ protocol: 'tcp' })).toEqual({ ip: a.ip, port: a.port, protocol: 'tcp' });
    expect((await backend.claim(target(2))).port).toBe(a.port);
  });

  test('TCP and UDP rules are separate: the same port number may serve both', async () => {
    const cluster = await start({ seed });
    const backend = harness.backend(cluster);
    const tcp = await backend.claim({ namespace: 'tenants', serviceName: 'dns', servicePort: 53, protocol: 'tcp', port: 30053 });
    const udp = await backend.claim({ namespace: 'tenants', serviceName: 'dns', servicePort: 53, protocol: 'udp', port: 30053 });
    expect([tcp.created, udp.created]).toEqual([true, true]);
    expect(harness.dataPlane(cluster)).toEqual(
      new Map([
        [`${tcp.ip} tcp/30053`, 'tenants/dns:53'],
        [`${udp.ip} udp/30053`, 'tenants/dns:53'],
      ]),
    );
    expect((await backend.list()).map((r) => `${r.protocol}/${r.port}`)).toEqual(['tcp/30053', 'udp/30053']);
    expect(await backend.remove({ port: 30053, protocol: 'udp' })).toHaveLength(1);
    expect([...harness.dataPlane(cluster).keys()]).toEqual([`${tcp.ip} tcp/30053`]);
    // A UDP claim for a Service without a UDP port is refused before anything is written.
    expect(await rejectionOf(backend.claim({ ...target(3), protocol: 'udp' }))).toMatchObject({ code: 'INVALID_INPUT' });
  });

  test('a full pool answers NO_FREE_PORT; a taken port answers PORT_TAKEN', async () => {
    const cluster = await start({ seed });
    const backend = harness.backend(cluster, { portRange: { from: 30000, to: 30002 } });
    for (const i of range(0, 3)) await backend.claim(target(i));
    expect(await rejectionOf(backend.claim(target(3)))).toMatchObject({ code: 'NO_FREE_PORT', status: 507 });
    expect(await rejectionOf(backend.lookup({ protocol: 'tcp' }))).toMatchObject({ code: 'NO_FREE_PORT' });
    expect(await rejectionOf(backend.claim({ ...target(4), port: 30001 }))).toMatchObject({ code: 'PORT_TAKEN', status: 409 });
    expect(harness.dataPlane(cluster).size).toBe(3);
  });

  test('lbip picks the address; an unknown one is INGRESS_CONTROLLER_NOT_FOUND, an empty pool NO_INGRESS_CONTROLLER', async () => {
    const cluster = await start({ seed, pools: 2 });
    const backend = harness.backend(cluster);
    const [, second] = harness.addresses(cluster);
    const claimed = await backend.claim({ ...target(0), lbip: second });
    expect(claimed.ip).toBe(second);
    expect([...harness.dataPlane(cluster).keys()]).toEqual([`${second} tcp/30000`]);
    expect(await backend.list({ lbip: second })).toHaveLength(1);
    expect(await rejectionOf(backend.claim({ ...target(1), lbip: '192.0.2.99' }))).toMatchObject({ code: 'INGRESS_CONTROLLER_NOT_FOUND', status: 404 });

    const empty = await start({ seed, pools: 0 });
    expect(await rejectionOf(harness.backend(empty).claim(target(0)))).toMatchObject({ code: 'NO_INGRESS_CONTROLLER', status: 503 });
  });

  test('repair removes rules whose Service is gone and restores what a crash between the two writes left out', async () => {
    const cluster = await start({ seed });
    const backend = harness.backend(cluster);
    const [gone, broken, fine] = [await backend.claim(target(0)), await backend.claim(target(1)), await backend.claim(target(2))];
    cluster.store.delete({ resource: 'services', namespace: 'tenants', name: 'svc-0' });
    harness.dropSecondWrite(cluster, broken);
    expect(harness.dataPlane(cluster).has(`${broken.ip} tcp/${broken.port}`)).toBe(false);

    const dry = await backend.repair();
    expect(dry.dryRun).toBe(true);
    expect(dry.removed).toEqual([{ ...target(0), ip: gone.ip, port: gone.port, reason: 'ServiceNotFound' }]);
    expect(dry.fixed).toEqual([expect.objectContaining({ ip: broken.ip, protocol: 'tcp', port: broken.port, action: 'added' })]);
    expect(harness.dataPlane(cluster).size).toBe(1 + 1);

    const applied = await backend.repair({ dryRun: false });
    expect(applied).toEqual({ ...dry, dryRun: false });
    expect(harness.dataPlane(cluster)).toEqual(
      new Map([
        [`${broken.ip} tcp/${broken.port}`, 'tenants/svc-1:5432'],
        [`${fine.ip} tcp/${fine.port}`, 'tenants/svc-2:5432'],
      ]),
    );
    expect(await backend.repair()).toEqual({ dryRun: true, removed: [], fixed: [] });
  });
});
