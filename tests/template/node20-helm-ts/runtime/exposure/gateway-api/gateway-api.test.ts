// What only the Gateway API backend has: the 64-listener limit and moving on to the next Gateway,
// the objects it writes, route versions, routes in the Gateway's namespace, and route repair.
import { describe, expect, test } from 'vitest';
import type { Cluster, KubeObject } from '../../../../../../dev/cluster/index.js';
import { loadConfig } from '#runtime/config.js';
import { FunctionError } from '#runtime/errors.js';
import { createGatewayBackend, type GatewayBackend } from '#runtime/exposure/gateway-api/index.js';
import { MAX_LISTENERS } from '#runtime/exposure/gateway-api/listeners.js';
import { rejectionOf } from '../../function-error.js';
import { backends, clustersPerTest, gatewayApi, gatewayObject, LB_NAMESPACE, service } from '../harness.js';

type Obj = Record<string, any>;
const GROUP = 'gateway.networking.k8s.io';
const start = clustersPerTest(gatewayApi);
const seed = [...backends('tenants', 'svc-', 140), service('tenants', 'dns', [{ port: 53, protocol: 'UDP' }])];
const target = (i: number) => ({ namespace: 'tenants', serviceName: `svc-${i}`, servicePort: 5432, protocol: 'tcp' as const });
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

const gateway = (cluster: Cluster, name = 'pool-a') => cluster.store.get({ group: GROUP, resource: 'gateways', namespace: LB_NAMESPACE, name }) as Obj;
const routes = (cluster: Cluster, resource = 'tcproutes') => cluster.store.list({ group: GROUP, resource }) as Obj[];
const address = (cluster: Cluster, name: string) => gateway(cluster, name).status.addresses[0].value as string;

describe('the objects a rule is made of', () => {
  test('a listener and annotation on the Gateway, and a TCPRoute in the Service namespace the Gateway accepts', async () => {
    const cluster = await start({ seed });
    const claimed = await gatewayApi.backend(cluster).claim(target(7));
    expect(claimed).toEqual({ ...target(7), ip: address(cluster, 'pool-a'), port: 30000, created: true });

    const g = gateway(cluster);
    expect(g.metadata.annotations).toEqual({ 'rules.helm-deployer.openfaas.com/tcp-30000': 'tenants/svc-7:5432' });
    expect(g.spec.listeners.map((l: Obj) => l.name)).toEqual(['http', 'tcp-30000']);
    const [route] = routes(cluster);
    expect(route.metadata).toMatchObject({ name: 'pool-a-tcp-30000', namespace: 'tenants', labels: { 'app.kubernetes.io/managed-by': 'helm-deployer' } });
    expect(route.spec.parentRefs).toEqual([expect.objectContaining({ kind: 'Gateway', namespace: LB_NAMESPACE, name: 'pool-a', sectionName: 'tcp-30000' })]);
    expect(route.spec.rules[0].backendRefs).toEqual([expect.objectContaining({ name: 'svc-7', port: 5432 })]);
    // The emulated Gateway controller attaches the route: the listener admits the route's namespace.
    expect(g.status.listeners.find((l: Obj) => l.name === 'tcp-30000').attachedRoutes).toBe(1);
  });

  test('a claim costs four requests: list Gateways, read the Service, write the Gateway, create the route', async () => {
    const cluster = await start({ seed });
    const backend = gatewayApi.backend(cluster);
    await backend.claim(target(0));
    cluster.requests.reset();
    await backend.claim(target(1));
    expect(cluster.requests.entries.map((e) => `${e.verb} ${e.resource}`).sort()).toEqual([
      'create tcproutes',
      'get services',
      'list gateways',
      'update gateways',
    ]);
  });

  test('a cluster serving TCPRoute/UDPRoute only as v1alpha2 gets v1alpha2 routes', async () => {
    const cluster = await start({ seed, gatewayApi: { routeVersions: ['v1alpha2'] } });
    const backend = gatewayApi.backend(cluster);
    const claimed = await backend.claim({ namespace: 'tenants', serviceName: 'dns', servicePort: 53, protocol: 'udp' });
    expect(cluster.requests.entries.some((e) => e.verb === 'create' && e.path?.startsWith(`/apis/${GROUP}/v1alpha2/namespaces/tenants/udproutes`))).toBe(true);
    expect(gatewayApi.dataPlane(cluster)).toEqual(new Map([[`${claimed.ip} udp/30000`, 'tenants/dns:53']]));
    expect(await backend.remove({ serviceName: 'dns', namespace: 'tenants' })).toHaveLength(1);
    expect(routes(cluster, 'udproutes')).toEqual([]);
  });

  test('routes in the Gateway namespace come with a ReferenceGrant for the Service, and go with it', async () => {
    const cluster = await start({ seed });
    const backend = gatewayApi.backend(cluster, { routeNamespace: 'gateway' });
    const claimed = await backend.claim(target(3));
    const [route] = routes(cluster);
    expect(route.metadata.namespace).toBe(LB_NAMESPACE);
    expect(route.spec.rules[0].backendRefs[0]).toMatchObject({ name: 'svc-3', namespace: 'tenants', port: 5432 });
    const grants = cluster.store.list({ group: GROUP, resource: 'referencegrants' }) as Obj[];
    expect(grants.map((g) => [g.metadata.namespace, g.spec])).toEqual([
      ['tenants', { from: [{ group: GROUP, kind: 'TCPRoute', namespace: LB_NAMESPACE }], to: [{ group: '', kind: 'Service', name: 'svc-3' }] }],
    ]);
    expect(gatewayApi.dataPlane(cluster)).toEqual(new Map([[`${claimed.ip} tcp/30000`, 'tenants/svc-3:5432']]));

    await backend.remove({ port: 30000 });
    expect(routes(cluster)).toEqual([]);
    expect(cluster.store.list({ group: GROUP, resource: 'referencegrants' })).toEqual([]);
  });

  test('with routes in the Gateway namespace, repair looks for orphans there only and removes their ReferenceGrant', async () => {
    const cluster = await start({ seed });
    const backend = gatewayApi.backend(cluster, { routeNamespace: 'gateway' });
    await backend.claim(target(3));
    const g = gateway(cluster) as KubeObject & Obj;
    cluster.store.update({
      ...g,
      metadata: { ...g.metadata, annotations: {}, resourceVersion: undefined },
      spec: { ...g.spec, listeners: g.spec.listeners.filter((l: Obj) => l.name === 'http') },
    });
    cluster.requests.reset();
    expect((await backend.repair({ dryRun: false })).fixed).toEqual([
      { ip: address(cluster, 'pool-a'), gateway: `${LB_NAMESPACE}/pool-a`, protocol: 'tcp', port: 30000, action: 'removed', object: 'route' },
    ]);
    expect(cluster.requests.filter({ verb: 'list', resource: 'tcproutes' }).map((e) => e.namespace)).toEqual([LB_NAMESPACE]);
    expect(routes(cluster)).toEqual([]);
    expect(cluster.store.list({ group: GROUP, resource: 'referencegrants' })).toEqual([]);
  });

  test('listeners and annotations that are not ours are left alone', async () => {
    const foreign = { name: 'custom', protocol: 'TCP', port: 30000 };
    const cluster = await start({ seed, pools: 0 });
    cluster.store.create({ ...(gatewayObject('pool-a', [{ name: 'http', protocol: 'HTTP', port: 80 }, foreign]) as Obj) });
    const backend = gatewayApi.backend(cluster);
    expect((await backend.claim(target(0))).port).toBe(30001);
    await backend.remove({ namespace: 'tenants' });
    await backend.repair({ dryRun: false });
    expect(gateway(cluster).spec.listeners.map((l: Obj) => l.name)).toEqual(['http', 'custom']);
  });
});

describe(`a Gateway holds at most ${MAX_LISTENERS} listeners`, () => {
  test('a full Gateway passes claims to the next one, and the answer says so', async () => {
    const cluster = await start({ seed, pools: 2 });
    const backend = gatewayApi.backend(cluster);
    // pool-a has its http listener, so 63 rules fill it.
    const first = await Promise.all(range(0, MAX_LISTENERS - 1).map((i) => backend.claim(target(i))));
    expect(first.every((r) => r.ip === address(cluster, 'pool-a') && r.notice === undefined)).toBe(true);
    expect(gateway(cluster, 'pool-a').spec.listeners).toHaveLength(MAX_LISTENERS);

    const spilled = await backend.claim(target(100));
    expect(spilled).toMatchObject({ ip: address(cluster, 'pool-b'), port: 30000, created: true });
    expect(spilled.notice).toBe(
      `Gateway ${LB_NAMESPACE}/pool-a (${address(cluster, 'pool-a')}) is full (${MAX_LISTENERS} listeners); ` +
        `the rule is on Gateway ${LB_NAMESPACE}/pool-b (${address(cluster, 'pool-b')})`,
    );
    // A repeat goes straight to where the rule is.
    expect(await backend.claim(target(100))).toEqual({ ...target(100), ip: address(cluster, 'pool-b'), port: 30000, created: false });
    expect(gatewayApi.dataPlane(cluster).size).toBe(MAX_LISTENERS);
    // The list shows pool-a full: it is passed over without a request of its own.
    cluster.requests.reset();
    expect((await backend.claim(target(102))).notice).toContain('pool-a');
    expect(cluster.requests.entries.map((e) => `${e.verb} ${e.resource} ${e.name ?? ''}`.trim()).sort()).toEqual([
      'create tcproutes',
      'get services svc-102',
      'list gateways',
      'update gateways pool-b',
    ]);

    // Freeing a listener on pool-a makes it the first choice again.
    await backend.remove({ namespace: 'tenants', serviceName: 'svc-5' });
    expect(await backend.claim(target(101))).toMatchObject({ ip: address(cluster, 'pool-a'), port: first[5].port });
  });

  test('when every Gateway is full the answer is NO_FREE_PORT, naming each one', async () => {
    const cluster = await start({ seed });
    const backend = gatewayApi.backend(cluster);
    await Promise.all(range(0, MAX_LISTENERS - 1).map((i) => backend.claim(target(i))));
    const err = await rejectionOf(backend.claim(target(120)));
    expect(err).toMatchObject({ code: 'NO_FREE_PORT', status: 507, details: { gateway: `${LB_NAMESPACE}/pool-a (${address(cluster, 'pool-a')})`, listeners: MAX_LISTENERS } });
    expect(err.message).toContain(`${MAX_LISTENERS} listeners`);
    expect(await rejectionOf(backend.lookup({ protocol: 'tcp' }))).toMatchObject({ code: 'NO_FREE_PORT' });
    expect(gateway(cluster).spec.listeners).toHaveLength(MAX_LISTENERS);
  });
});

describe('pool and repair', () => {
  test('Gateways without an address yet are not used', async () => {
    const cluster = await start({ seed, gatewayApi: { controller: false } });
    expect(await rejectionOf(gatewayApi.backend(cluster).claim(target(0)))).toMatchObject({ code: 'NO_INGRESS_CONTROLLER', status: 503 });
  });

  test('repair deletes routes no rule owns, drops listeners without a rule and restores listeners of rules', async () => {
    const cluster = await start({ seed });
    const backend = gatewayApi.backend(cluster);
    const [a, b, c] = [await backend.claim(target(0)), await backend.claim(target(1)), await backend.claim(target(2))];
    // A crashed delete of a (rule and listener gone, route left); b's annotation lost; c's listener lost.
    const g = gateway(cluster) as KubeObject & Obj;
    const annotations = { ...g.metadata.annotations };
    delete annotations['rules.helm-deployer.openfaas.com/tcp-30000'];
    delete annotations['rules.helm-deployer.openfaas.com/tcp-30001'];
    cluster.store.update({
      ...g,
      metadata: { ...g.metadata, annotations, resourceVersion: undefined },
      spec: { ...g.spec, listeners: g.spec.listeners.filter((l: Obj) => !['tcp-30000', 'tcp-30002'].includes(l.name)) },
    });

    const dry = await backend.repair();
    const ip = a.ip;
    const where = `${LB_NAMESPACE}/pool-a`;
    expect(dry).toEqual({
      dryRun: true,
      removed: [],
      fixed: [
        { ip, gateway: where, protocol: 'tcp', port: a.port, action: 'removed', object: 'route' },
        { ip, gateway: where, protocol: 'tcp', port: b.port, action: 'removed', object: 'listener' },
        { ip, gateway: where, protocol: 'tcp', port: b.port, action: 'removed', object: 'route' },
        { ip, gateway: where, protocol: 'tcp', port: c.port, action: 'added', object: 'listener' },
      ],
    });
    expect(await backend.repair({ dryRun: false })).toEqual({ ...dry, dryRun: false });
    expect(routes(cluster).map((r) => r.metadata.name)).toEqual(['pool-a-tcp-30002']);
    expect(gatewayApi.dataPlane(cluster)).toEqual(new Map([[`${ip} tcp/${c.port}`, 'tenants/svc-2:5432']]));
    expect(await backend.repair()).toEqual({ dryRun: true, removed: [], fixed: [] });
  });

  test('a route edited by hand is put back as the rule says', async () => {
    const cluster = await start({ seed });
    const backend = gatewayApi.backend(cluster);
    const claimed = await backend.claim(target(4));
    const [route] = routes(cluster) as (KubeObject & Obj)[];
    route.spec.rules[0].backendRefs[0].port = 9999;
    cluster.store.update({ ...route, metadata: { ...route.metadata, resourceVersion: undefined } });
    expect((await backend.repair({ dryRun: false })).fixed).toEqual([
      { ip: claimed.ip, gateway: `${LB_NAMESPACE}/pool-a`, protocol: 'tcp', port: 30000, action: 'added', object: 'route' },
    ]);
    expect(gatewayApi.dataPlane(cluster).get(`${claimed.ip} tcp/30000`)).toBe('tenants/svc-4:5432');
  });
});

describe('Kubernetes faults', () => {
  test('a 409 on the Gateway write is read again and retried; transient 503s are retried', async () => {
    const cluster = await start({ seed });
    const backend = gatewayApi.backend(cluster);
    await backend.claim(target(0));
    cluster.requests.reset();
    cluster.faults.conflictNext({ group: GROUP, resource: 'gateways', namespace: LB_NAMESPACE, name: 'pool-a' });
    cluster.faults.inject({ verb: 'create', group: GROUP, resource: 'tcproutes', status: 503, times: 2 });

    expect(await backend.claim(target(1))).toMatchObject({ port: 30001, created: true });
    expect(cluster.requests.count({ verb: 'update', resource: 'gateways', status: 409 })).toBe(1);
    expect(cluster.requests.count({ verb: 'create', resource: 'tcproutes', status: 503 })).toBe(2);
    expect(gatewayApi.dataPlane(cluster).size).toBe(2);
  });

  test('a route that could not be created fails the claim; repeating the claim finishes it', async () => {
    const cluster = await start({ seed });
    const backend = gatewayApi.backend(cluster);
    cluster.faults.inject({ verb: 'create', group: GROUP, resource: 'tcproutes', status: 500 });
    expect(await rejectionOf(backend.claim(target(0)))).toMatchObject({ code: 'KUBE_API_ERROR', status: 502 });
    // The listener is claimed (the port is not handed to anyone else) but nothing forwards yet.
    expect(gateway(cluster).spec.listeners.map((l: Obj) => l.name)).toEqual(['http', 'tcp-30000']);
    expect(gatewayApi.dataPlane(cluster).size).toBe(0);
    expect((await backend.lookup({ protocol: 'tcp' })).port).toBe(30001);

    cluster.faults.clear();
    expect(await backend.claim(target(0))).toMatchObject({ port: 30000, created: false });
    expect(gatewayApi.dataPlane(cluster).get(`${address(cluster, 'pool-a')} tcp/30000`)).toBe('tenants/svc-0:5432');
  });
});

describe('races with other instances, and other pools', () => {
  const backendOf = (cluster: Cluster) => gatewayApi.backend(cluster) as GatewayBackend;

  test('a delete leaves alone the route a claim elsewhere made its own by reusing the port meanwhile', async () => {
    const cluster = await start({ seed });
    const [one, two] = [backendOf(cluster), backendOf(cluster)];
    const first = await one.claim(target(1));
    const deleteRoute = one.kube.deleteRoute;
    let reclaimed: Awaited<ReturnType<typeof two.claim>> | undefined;
    // The other instance claims between this delete's Gateway write and its route delete.
    one.kube.readRoute = ((read) => async (...args: Parameters<typeof read>) => {
      reclaimed ??= await two.claim(target(2));
      return read(...args);
    })(one.kube.readRoute);
    await one.remove({ namespace: 'tenants', serviceName: 'svc-1' });
    one.kube.deleteRoute = deleteRoute;

    expect(reclaimed).toMatchObject({ port: first.port, created: true });
    expect(gatewayApi.dataPlane(cluster)).toEqual(new Map([[`${first.ip} tcp/${first.port}`, 'tenants/svc-2:5432']]));
  });

  test('repair does not delete an orphan route that a claim took over after repair listed it', async () => {
    const cluster = await start({ seed });
    const one = backendOf(cluster);
    const first = await one.claim(target(1));
    // A delete that died between its two writes: the rule is gone, its route is left.
    const deleteRoute = one.kube.deleteRoute;
    one.kube.deleteRoute = async () => {};
    await one.remove({ port: first.port });
    one.kube.deleteRoute = deleteRoute;

    const two = backendOf(cluster);
    two.kube.deleteRoute = ((remove) => async (...args: Parameters<typeof remove>) => {
      await one.claim(target(2));
      return remove(...args);
    })(two.kube.deleteRoute);
    await two.repair({ dryRun: false });
    expect(gatewayApi.dataPlane(cluster)).toEqual(new Map([[`${first.ip} tcp/${first.port}`, 'tenants/svc-2:5432']]));
  });

  test("repair leaves the routes of another pool's Gateways and of a Gateway waiting for its address", async () => {
    const cluster = await start({ seed: [...seed, gatewayObject('other', undefined, 'other')] });
    const mine = backendOf(cluster);
    const theirs = createGatewayBackend({
      config: { ...loadConfig({ IngressLabel: 'other', LoadBalancerNamespace: LB_NAMESPACE, KUBECONFIG: cluster.kubeconfigPath }), portRange: { from: 30000, to: 30999 } },
    });
    const their = await theirs.claim(target(3));
    await mine.claim(target(4));
    // pool-a loses its address for a while (its implementation is reprogramming the load balancer).
    cluster.store.create(gatewayObject('pool-b'));
    const a = gateway(cluster) as KubeObject & Obj;
    cluster.store.update({ ...a, metadata: { ...a.metadata, resourceVersion: undefined }, status: { ...a.status, addresses: [] } });

    expect(await mine.repair({ dryRun: false })).toEqual({ dryRun: false, removed: [], fixed: [] });
    expect(routes(cluster).map((r) => r.metadata.name).sort()).toEqual(['other-tcp-30000', 'pool-a-tcp-30000']);
    expect(gatewayApi.dataPlane(cluster).get(`${their.ip} tcp/30000`)).toBe('tenants/svc-3:5432');
  });

  test('a route whose Gateway of this namespace was deleted is an orphan', async () => {
    const cluster = await start({ seed, pools: 2 });
    const backend = backendOf(cluster);
    await backend.claim({ ...target(5), lbip: address(cluster, 'pool-b') });
    cluster.store.delete({ group: GROUP, resource: 'gateways', namespace: LB_NAMESPACE, name: 'pool-b' });
    expect((await backend.repair({ dryRun: false })).fixed).toEqual([
      { ip: '', gateway: `${LB_NAMESPACE}/pool-b`, protocol: 'tcp', port: 30000, action: 'removed', object: 'route' },
    ]);
    expect(routes(cluster)).toEqual([]);
  });

  test('a Gateway deleted after the list passes the claim on to the next one', async () => {
    const cluster = await start({ seed, pools: 2 });
    const backend = backendOf(cluster);
    backend.kube.listGateways = ((list) => async (...args: Parameters<typeof list>) => {
      const listed = await list(...args);
      cluster.store.delete({ group: GROUP, resource: 'gateways', namespace: LB_NAMESPACE, name: 'pool-a' });
      return listed;
    })(backend.kube.listGateways);
    const claimed = await backend.claim(target(6));
    expect(claimed).toMatchObject({ ip: address(cluster, 'pool-b'), created: true });
    expect(claimed.notice).toContain('was deleted');
  });

  test('a cluster without TCPRoute fails the claim before anything is written', async () => {
    const cluster = await start({ seed });
    const backend = backendOf(cluster);
    backend.kube.versions = async () => {
      throw new FunctionError('NO_INGRESS_CONTROLLER', 'no TCPRoute');
    };
    expect(await rejectionOf(backend.claim(target(7)))).toMatchObject({ code: 'NO_INGRESS_CONTROLLER' });
    expect(cluster.requests.count({ verb: 'update', resource: 'gateways' })).toBe(0);
  });
});

describe('Gateways that share one address', () => {
  const sharing = (name: string) => ({ ...(gatewayObject(name) as Obj), spec: { ...(gatewayObject(name) as Obj).spec, addresses: [{ type: 'IPAddress', value: '198.51.100.7' }] } });
  /** `port/protocol` of every rule listener on the Gateways of the address, repeats included. */
  const portsInUse = (cluster: Cluster) =>
    ['pool-a', 'pool-b'].flatMap((name) => (gateway(cluster, name).spec.listeners as Obj[]).filter((l) => l.name !== 'http').map((l) => `${l.port}/${l.protocol}`));

  test('two claims racing for the last port of the address: one gets it, the other NO_FREE_PORT', async () => {
    const cluster = await start({ pools: 0, seed: [...seed, sharing('pool-a'), sharing('pool-b')] });
    const backend = gatewayApi.backend(cluster, { portRange: { from: 30000, to: 30001 } });
    await backend.claim(target(0));
    const results = await Promise.allSettled([backend.claim(target(1)), backend.claim(target(2))]);
    expect(results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ port: number }>).value.port)).toEqual([30001]);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(['NO_FREE_PORT']);
    expect(portsInUse(cluster).sort()).toEqual(['30000/TCP', '30001/TCP']);
  });

  test('replicas spilling from a full Gateway onto another with the same address never share a port', async () => {
    const cluster = await start({ pools: 0, seed: [...seed, sharing('pool-a'), sharing('pool-b')] });
    const first = gatewayApi.backend(cluster);
    for (const i of range(0, MAX_LISTENERS - 3)) await first.claim(target(i));
    const replicas = [gatewayApi.backend(cluster), gatewayApi.backend(cluster), gatewayApi.backend(cluster)];
    const results = await Promise.all(range(100, 24).map((i, n) => replicas[n % 3].claim(target(i))));

    expect(new Set(results.map((r) => `${r.ip}:${r.port}`)).size).toBe(24);
    const inUse = portsInUse(cluster);
    expect(new Set(inUse).size).toBe(inUse.length);
    expect(inUse).toHaveLength(MAX_LISTENERS - 3 + 24);
    expect(gatewayApi.dataPlane(cluster).size).toBe(MAX_LISTENERS - 3 + 24);
  });
});
