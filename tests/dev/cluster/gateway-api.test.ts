/** Gateway API in the emulator through client-node's CustomObjectsApi: Gateway validation, the Gateway controller, route versions, ReferenceGrant. */
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster, type StartClusterOptions } from '../../../dev/cluster/index.js';
import { createGateways } from '../../../dev/gateway-fixture.js';

const group = 'gateway.networking.k8s.io';
const namespace = 'gw';
const rulesSkipped = {
  reason: 'FieldValueInvalid',
  message: 'Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
  field: '<nil>',
};

const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const jsonPatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch);
const strategic = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);
const apply = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);

interface Listener {
  name: string;
  port: number;
  protocol: string;
  hostname?: string;
  allowedRoutes?: Record<string, unknown>;
}

const listener = (name: string, port: number, protocol = 'TCP', extra: Partial<Listener> = {}): Listener => ({ name, port, protocol, ...extra });

function gateway(name: string, listeners: unknown[], spec: Record<string, unknown> = {}) {
  return { apiVersion: `${group}/v1`, kind: 'Gateway', metadata: { name }, spec: { gatewayClassName: 'example', listeners, ...spec } };
}

function route(kind: 'TCPRoute' | 'UDPRoute', version: string, name: string, parentRefs: Record<string, unknown>[]) {
  return { apiVersion: `${group}/${version}`, kind, metadata: { name }, spec: { parentRefs, rules: [{ backendRefs: [{ name: 'app', port: 5432 }] }] } };
}

/** The ApiException a call rejects with, its Status body parsed. */
async function failureOf(call: Promise<unknown>): Promise<{ code: number; body: any }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof k8s.ApiException) return { code: error.code, body: typeof error.body === 'string' ? JSON.parse(error.body) : error.body };
    throw error;
  }
  throw new Error('expected the call to fail');
}

interface Running {
  cluster: Cluster;
  api: k8s.CustomObjectsApi;
  core: k8s.CoreV1Api;
}

const running: Running[] = [];

async function start(options: StartClusterOptions = {}): Promise<Running> {
  const cluster = await startCluster({
    ...options,
    seed: [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } },
      ...(options.seed ?? []),
    ],
  });
  const kubeconfig = new k8s.KubeConfig();
  kubeconfig.loadFromFile(cluster.kubeconfigPath);
  const started = { cluster, api: kubeconfig.makeApiClient(k8s.CustomObjectsApi), core: kubeconfig.makeApiClient(k8s.CoreV1Api) };
  running.push(started);
  return started;
}

afterAll(async () => {
  await Promise.all(running.map((r) => r.cluster.stop()));
});

async function discovery(cluster: Cluster, path: string, accept = 'application/json'): Promise<{ status: number; body: any }> {
  const response = await fetch(`${cluster.url}${path}`, { headers: { Accept: accept } });
  return { status: response.status, body: await response.json() };
}

const aggregated = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

describe('Gateway validation', () => {
  let api: k8s.CustomObjectsApi;
  const create = (body: unknown) => api.createNamespacedCustomObject({ group, version: 'v1', namespace, plural: 'gateways', body });

  beforeAll(async () => {
    ({ api } = await start());
  });

  it('refuses 65 listeners with 422 Invalid, shaped like the real server, and accepts 64', async () => {
    const listeners = Array.from({ length: 65 }, (_, i) => listener(`l${i}`, 1000 + i));
    const refused = await failureOf(create(gateway('many', listeners)));
    expect(refused.code).toBe(422);
    expect(refused.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `Gateway.gateway.networking.k8s.io "many" is invalid: [spec.listeners: Too many: 65: must have at most 64 items, <nil>: ${rulesSkipped.message}]`,
      reason: 'Invalid',
      details: {
        name: 'many',
        group,
        kind: 'Gateway',
        causes: [{ reason: 'FieldValueTooMany', message: 'Too many: 65: must have at most 64 items', field: 'spec.listeners' }, rulesSkipped],
      },
      code: 422,
    });
    const created = await create(gateway('many', listeners.slice(0, 64)));
    expect(created.spec.listeners).toHaveLength(64);
  });

  it('refuses a Gateway without listeners', async () => {
    const empty = await failureOf(create(gateway('none', [])));
    expect(empty.code).toBe(422);
    expect(empty.body.details.causes).toEqual([{ reason: 'FieldValueInvalid', message: 'Invalid value: 0: spec.listeners in body should have at least 1 items', field: 'spec.listeners' }]);
    const missing = await failureOf(create({ apiVersion: `${group}/v1`, kind: 'Gateway', metadata: { name: 'none' }, spec: { gatewayClassName: 'example' } }));
    expect(missing.body.details.causes).toEqual([{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.listeners' }, rulesSkipped]);
  });

  it('refuses a repeated port and protocol, accepts the same port with another protocol or hostname', async () => {
    const refused = await failureOf(create(gateway('dup-port', [listener('a', 5000), listener('b', 5000)])));
    expect(refused.code).toBe(422);
    expect(refused.body.message).toBe(
      'Gateway.gateway.networking.k8s.io "dup-port" is invalid: spec.listeners: Invalid value: "array": Combination of port, protocol and hostname must be unique for each listener',
    );
    expect(refused.body.details.causes).toEqual([
      { reason: 'FieldValueInvalid', message: 'Invalid value: "array": Combination of port, protocol and hostname must be unique for each listener', field: 'spec.listeners' },
    ]);
    const mixed = await create(gateway('mixed', [listener('tcp-5000', 5000, 'TCP'), listener('udp-5000', 5000, 'UDP')]));
    expect(mixed.spec.listeners.map((l: Listener) => l.protocol)).toEqual(['TCP', 'UDP']);
    const hosts = await create(gateway('hosts', [listener('a', 80, 'HTTP', { hostname: 'a.example.com' }), listener('b', 80, 'HTTP', { hostname: 'b.example.com' })]));
    expect(hosts.spec.listeners).toHaveLength(2);
    const oneWithoutHost = await failureOf(create(gateway('hosts-2', [listener('a', 80, 'HTTP', { hostname: 'a.example.com' }), listener('b', 80, 'HTTP'), listener('c', 80, 'HTTP')])));
    expect(oneWithoutHost.code).toBe(422);
  });

  it('refuses a repeated listener name', async () => {
    const refused = await failureOf(create(gateway('dup-name', [listener('p', 5000, 'TCP'), listener('p', 5001, 'TCP')])));
    expect(refused.code).toBe(422);
    expect(refused.body.reason).toBe('Invalid');
    expect(refused.body.details.causes).toEqual([
      { reason: 'FieldValueDuplicate', message: 'Duplicate value: {"name":"p"}', field: 'spec.listeners[1]' },
      { reason: 'FieldValueInvalid', message: 'Invalid value: "array": Listener name must be unique within the Gateway', field: 'spec.listeners' },
    ]);
  });

  it('checks each listener: section name, port range, required protocol', async () => {
    const refused = await failureOf(create(gateway('fields', [{ name: 'Bad_Name', port: 0, protocol: 'TCP' }, { name: 'ok', port: 70000 }, { name: 'x'.repeat(254), port: 1, protocol: 'TCP' }])));
    expect(refused.code).toBe(422);
    expect(refused.body.details.causes).toEqual([
      { reason: 'FieldValueInvalid', message: `Invalid value: "Bad_Name": spec.listeners[0].name in body should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'`, field: 'spec.listeners[0].name' },
      { reason: 'FieldValueInvalid', message: 'Invalid value: 0: spec.listeners[0].port in body should be greater than or equal to 1', field: 'spec.listeners[0].port' },
      { reason: 'FieldValueInvalid', message: 'Invalid value: 70000: spec.listeners[1].port in body should be less than or equal to 65535', field: 'spec.listeners[1].port' },
      { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.listeners[1].protocol' },
      { reason: 'FieldValueTooLong', message: 'Too long: may not be more than 253 bytes', field: 'spec.listeners[2].name' },
      rulesSkipped,
    ]);
  });

  it('validates replace, every patch type and server-side apply; a stale replace is 409 Conflict', async () => {
    const name = 'edited';
    const at = { group, version: 'v1', namespace, plural: 'gateways', name };
    const created = await create(gateway(name, [listener('a', 5000)]));
    const tooMany = Array.from({ length: 65 }, (_, i) => listener(`l${i}`, 1000 + i));

    const replaced = await failureOf(api.replaceNamespacedCustomObject({ ...at, body: { ...created, spec: { ...created.spec, listeners: tooMany } } }));
    expect(replaced.code).toBe(422);
    expect(replaced.body.details.causes[0]).toEqual({ reason: 'FieldValueTooMany', message: 'Too many: 65: must have at most 64 items', field: 'spec.listeners' });

    const duplicate = [listener('a', 5000), listener('b', 5000)];
    for (const [body, options] of [
      [{ spec: { listeners: duplicate } }, merge],
      [[{ op: 'add', path: '/spec/listeners/-', value: listener('b', 5000) }], jsonPatch],
      [{ apiVersion: `${group}/v1`, kind: 'Gateway', metadata: { name }, spec: { gatewayClassName: 'example', listeners: duplicate } }, apply],
    ] as const) {
      const patched = await failureOf(api.patchNamespacedCustomObject({ ...at, body, fieldManager: 'test', force: options === apply ? true : undefined }, options));
      expect(patched.code).toBe(422);
      expect(patched.body.details.causes.map((c: { message: string }) => c.message)).toContain(
        'Invalid value: "array": Combination of port, protocol and hostname must be unique for each listener',
      );
    }
    // Gateway API types are custom resources: no strategic merge patch.
    expect((await failureOf(api.patchNamespacedCustomObject({ ...at, body: { spec: {} } }, strategic))).code).toBe(415);

    const current = await api.getNamespacedCustomObject(at);
    expect(current.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
    const updated = await api.replaceNamespacedCustomObject({ ...at, body: { ...current, spec: { ...current.spec, listeners: [listener('a', 5000), listener('b', 5001)] } } });
    expect(updated.spec.listeners.map((l: Listener) => l.name)).toEqual(['a', 'b']);
    const stale = await failureOf(api.replaceNamespacedCustomObject({ ...at, body: { ...current, spec: { ...current.spec, listeners: [listener('c', 5002)] } } }));
    expect(stale.code).toBe(409);
    expect(stale.body.reason).toBe('Conflict');
  });

  it('fills the CRD defaults: allowedRoutes from Same, address type, route parentRef and backendRef kinds', async () => {
    const created = await create(gateway('defaults', [listener('a', 5000)], { addresses: [{ value: '192.0.2.7' }] }));
    expect(created.spec.listeners[0].allowedRoutes).toEqual({ namespaces: { from: 'Same' } });
    expect(created.spec.addresses).toEqual([{ type: 'IPAddress', value: '192.0.2.7' }]);
    const r = await api.createNamespacedCustomObject({ group, version: 'v1', namespace, plural: 'tcproutes', body: route('TCPRoute', 'v1', 'defaults', [{ name: 'defaults', sectionName: 'a' }]) });
    expect(r.spec.parentRefs).toEqual([{ group, kind: 'Gateway', name: 'defaults', sectionName: 'a' }]);
    expect(r.spec.rules[0].backendRefs).toEqual([{ group: '', kind: 'Service', name: 'app', port: 5432, weight: 1 }]);
  });
});

describe('Gateway controller', () => {
  let env: Running;
  const at = (plural: string, version = 'v1') => ({ group, version, namespace, plural });
  const getGateway = (name: string) => env.api.getNamespacedCustomObject({ ...at('gateways'), name });
  const attached = async (name: string) =>
    Object.fromEntries(((await getGateway(name)).status.listeners as { name: string; attachedRoutes: number }[]).map((l) => [l.name, l.attachedRoutes]));

  beforeAll(async () => {
    env = await start({ lbIpPool: ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4'] });
  });

  it('gives each Gateway an address from the LoadBalancer pool, or the one its spec asks for, and Accepted/Programmed conditions', async () => {
    const first = await env.api.createNamespacedCustomObject({ ...at('gateways'), body: gateway('first', [listener('tcp-5000', 5000)]) });
    expect(first.status.addresses).toEqual([{ type: 'IPAddress', value: '198.51.100.1' }]);
    expect(first.status.conditions).toEqual([
      { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Gateway is accepted', observedGeneration: 1, lastTransitionTime: expect.any(String) },
      { type: 'Programmed', status: 'True', reason: 'Programmed', message: 'Address assigned to the Gateway', observedGeneration: 1, lastTransitionTime: expect.any(String) },
    ]);
    expect(first.status.listeners).toEqual([
      {
        name: 'tcp-5000',
        supportedKinds: [{ group, kind: 'TCPRoute' }],
        attachedRoutes: 0,
        conditions: ['Accepted', 'Programmed', 'ResolvedRefs'].map((type) => expect.objectContaining({ type, status: 'True', observedGeneration: 1 })),
      },
    ]);
    const asked = await env.api.createNamespacedCustomObject({ ...at('gateways'), body: gateway('asked', [listener('tcp-5000', 5000)], { addresses: [{ type: 'IPAddress', value: '198.51.100.2' }] }) });
    expect(asked.status.addresses).toEqual([{ type: 'IPAddress', value: '198.51.100.2' }]);

    // Services and Gateways share the pool: the next LoadBalancer Service skips both addresses.
    const lb = await env.core.createNamespacedService({ namespace, body: { metadata: { name: 'lb' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } } });
    expect(lb.status?.loadBalancer?.ingress?.[0]?.ip).toBe('198.51.100.3');

    // The address stays across spec changes; observedGeneration follows the generation.
    const edited = await env.api.patchNamespacedCustomObject(
      { ...at('gateways'), name: 'first', body: { spec: { listeners: [listener('tcp-5000', 5000), listener('udp-5000', 5000, 'UDP')] } } },
      merge,
    );
    expect(edited.metadata.generation).toBe(2);
    expect(edited.status.addresses).toEqual([{ type: 'IPAddress', value: '198.51.100.1' }]);
    expect(edited.status.conditions.map((c: { observedGeneration: number }) => c.observedGeneration)).toEqual([2, 2]);
    expect(edited.status.conditions[0].lastTransitionTime).toBe(first.status.conditions[0].lastTransitionTime);

    // An exhausted pool leaves the Gateway unprogrammed, without an address.
    await env.api.createNamespacedCustomObject({ ...at('gateways'), body: gateway('fourth', [listener('a', 1)]) });
    const none = await env.api.createNamespacedCustomObject({ ...at('gateways'), body: gateway('fifth', [listener('a', 1)]) });
    expect(none.status.addresses).toBeUndefined();
    expect(none.status.conditions[1]).toMatchObject({ type: 'Programmed', status: 'False', reason: 'AddressNotAssigned' });
    // ...until an address is freed.
    await env.api.deleteNamespacedCustomObject({ ...at('gateways'), name: 'fourth' });
    expect((await getGateway('fifth')).status.addresses).toEqual([{ type: 'IPAddress', value: '198.51.100.4' }]);
  });

  it('counts attached TCPRoutes and UDPRoutes per listener, at any version, and updates the count when routes change', async () => {
    await env.api.createNamespacedCustomObject({
      ...at('gateways'),
      body: gateway('shared', [listener('tcp-6000', 6000), listener('tcp-6001', 6001), listener('udp-6000', 6000, 'UDP')]),
    });
    expect(await attached('shared')).toEqual({ 'tcp-6000': 0, 'tcp-6001': 0, 'udp-6000': 0 });

    await env.api.createNamespacedCustomObject({ ...at('tcproutes'), body: route('TCPRoute', 'v1', 'a', [{ name: 'shared', sectionName: 'tcp-6000' }]) });
    await env.api.createNamespacedCustomObject({ ...at('tcproutes', 'v1alpha2'), body: route('TCPRoute', 'v1alpha2', 'b', [{ name: 'shared', namespace, sectionName: 'tcp-6000' }]) });
    await env.api.createNamespacedCustomObject({ ...at('udproutes'), body: route('UDPRoute', 'v1', 'c', [{ name: 'shared', sectionName: 'udp-6000' }]) });
    // Not counted: a TCPRoute on the UDP listener, a route naming another Gateway or listener.
    await env.api.createNamespacedCustomObject({ ...at('tcproutes'), body: route('TCPRoute', 'v1', 'wrong-kind', [{ name: 'shared', sectionName: 'udp-6000' }]) });
    await env.api.createNamespacedCustomObject({ ...at('tcproutes'), body: route('TCPRoute', 'v1', 'elsewhere', [{ name: 'first', sectionName: 'tcp-6000' }, { name: 'shared', sectionName: 'nope' }]) });
    expect(await attached('shared')).toEqual({ 'tcp-6000': 2, 'tcp-6001': 0, 'udp-6000': 1 });

    const before = await getGateway('shared');
    await env.api.deleteNamespacedCustomObject({ ...at('tcproutes', 'v1alpha2'), name: 'b' });
    const after = await getGateway('shared');
    expect(await attached('shared')).toEqual({ 'tcp-6000': 1, 'tcp-6001': 0, 'udp-6000': 1 });
    expect(Number(after.metadata.resourceVersion)).toBeGreaterThan(Number(before.metadata.resourceVersion));
    expect(after.metadata.generation).toBe(before.metadata.generation);

    // Moving a route to another listener moves the count.
    await env.api.patchNamespacedCustomObject({ ...at('tcproutes'), name: 'a', body: { spec: { parentRefs: [{ name: 'shared', sectionName: 'tcp-6001' }] } } }, merge);
    expect(await attached('shared')).toEqual({ 'tcp-6000': 0, 'tcp-6001': 1, 'udp-6000': 1 });
  });

  it('admits routes from other namespaces only as allowedRoutes.namespaces says', async () => {
    await env.api.createNamespacedCustomObject({
      ...at('gateways'),
      body: gateway('cross', [
        listener('same', 7000),
        listener('all', 7001, 'TCP', { allowedRoutes: { namespaces: { from: 'All' } } }),
        listener('selected', 7002, 'TCP', { allowedRoutes: { namespaces: { from: 'Selector', selector: { matchLabels: { 'kubernetes.io/metadata.name': 'apps' } } } } }),
        listener('labelled', 7003, 'TCP', { allowedRoutes: { namespaces: { from: 'Selector', selector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['blue'] }] } } } }),
      ]),
    });
    for (const sectionName of ['same', 'all', 'selected', 'labelled']) {
      await env.api.createNamespacedCustomObject({ group, version: 'v1', namespace: 'apps', plural: 'tcproutes', body: route('TCPRoute', 'v1', `to-${sectionName}`, [{ name: 'cross', namespace, sectionName }]) });
    }
    expect(await attached('cross')).toEqual({ same: 0, all: 1, selected: 1, labelled: 0 });
    await env.core.patchNamespace({ name: 'apps', body: { metadata: { labels: { team: 'blue' } } } }, merge);
    expect(await attached('cross')).toEqual({ same: 0, all: 1, selected: 1, labelled: 1 });
  });

  it('can be turned off: Gateways keep the CRD pending status and never get an address', async () => {
    const off = await start({ gatewayApi: { controller: false } });
    const created = await off.api.createNamespacedCustomObject({ ...at('gateways'), body: gateway('idle', [listener('a', 5000)]) });
    const pending = { status: 'Unknown', reason: 'Pending', message: 'Waiting for controller', lastTransitionTime: '1970-01-01T00:00:00Z' };
    expect(created.status).toEqual({ conditions: [{ type: 'Accepted', ...pending }, { type: 'Programmed', ...pending }] });
    await off.api.createNamespacedCustomObject({ ...at('tcproutes'), body: route('TCPRoute', 'v1', 'r', [{ name: 'idle', sectionName: 'a' }]) });
    await off.api.patchNamespacedCustomObject({ ...at('gateways'), name: 'idle', body: { metadata: { labels: { x: 'y' } } } }, merge);
    expect((await off.api.getNamespacedCustomObject({ ...at('gateways'), name: 'idle' })).status).toEqual(created.status);
    // LoadBalancer Services still get addresses.
    const lb = await off.core.createNamespacedService({ namespace, body: { metadata: { name: 'lb' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } } });
    expect(lb.status?.loadBalancer?.ingress?.[0]?.ip).toBe('203.0.113.10');
  });
});

describe('route versions', () => {
  it('serves TCPRoute and UDPRoute at v1 and v1alpha2 by default, one object readable at both', async () => {
    const { api, cluster } = await start();
    const created = await api.createNamespacedCustomObject({ group, version: 'v1alpha2', namespace, plural: 'tcproutes', body: route('TCPRoute', 'v1alpha2', 'r', [{ name: 'g' }]) });
    expect(created.apiVersion).toBe(`${group}/v1alpha2`);
    const read = await api.getNamespacedCustomObject({ group, version: 'v1', namespace, plural: 'tcproutes', name: 'r' });
    expect(read).toMatchObject({ apiVersion: `${group}/v1`, kind: 'TCPRoute', metadata: { uid: created.metadata.uid } });
    const v1 = await discovery(cluster, `/apis/${group}/v1`);
    expect(v1.body.resources.map((r: { name: string }) => r.name)).toEqual(expect.arrayContaining(['tcproutes', 'udproutes', 'gateways', 'referencegrants']));
  });

  it('serves them at v1alpha2 only when asked: discovery says so and v1 route URLs answer 404', async () => {
    const { api, cluster } = await start({ gatewayApi: { routeVersions: ['v1alpha2'] } });
    const groupDoc = await discovery(cluster, `/apis/${group}`);
    expect(groupDoc.body.versions.map((v: { version: string }) => v.version)).toEqual(['v1', 'v1beta1', 'v1alpha2']);
    const v1 = await discovery(cluster, `/apis/${group}/v1`);
    expect(v1.body.resources.filter((r: { name: string }) => !r.name.includes('/')).map((r: { name: string }) => r.name)).toEqual(['gatewayclasses', 'gateways', 'httproutes', 'referencegrants']);
    const alpha = await discovery(cluster, `/apis/${group}/v1alpha2`);
    expect(alpha.body.resources.map((r: { name: string }) => r.name)).toEqual(['tcproutes', 'tcproutes/status', 'udproutes', 'udproutes/status']);

    const all = await discovery(cluster, '/apis', aggregated);
    const versions = all.body.items.find((g: { metadata: { name: string } }) => g.metadata.name === group).versions as { version: string; resources: { resource: string }[] }[];
    const resourcesAt = (version: string) => versions.find((v) => v.version === version)!.resources.map((r) => r.resource);
    expect(resourcesAt('v1')).toEqual(['gatewayclasses', 'gateways', 'httproutes', 'referencegrants']);
    expect(resourcesAt('v1alpha2')).toEqual(['tcproutes', 'udproutes']);

    const missing = await failureOf(api.createNamespacedCustomObject({ group, version: 'v1', namespace, plural: 'tcproutes', body: route('TCPRoute', 'v1', 'r', [{ name: 'g' }]) }));
    expect(missing.code).toBe(404);
    expect(missing.body).toMatchObject({ kind: 'Status', reason: 'NotFound', message: 'the server could not find the requested resource' });
    expect((await failureOf(api.listNamespacedCustomObject({ group, version: 'v1', namespace, plural: 'udproutes' }))).code).toBe(404);
    await api.createNamespacedCustomObject({ group, version: 'v1alpha2', namespace, plural: 'udproutes', body: route('UDPRoute', 'v1alpha2', 'u', [{ name: 'g' }]) });
    const listed = await api.listNamespacedCustomObject({ group, version: 'v1alpha2', namespace, plural: 'udproutes' });
    expect(listed.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(['u']);
  });

  it('refuses route versions it does not know', async () => {
    await expect(startCluster({ gatewayApi: { routeVersions: [] } })).rejects.toThrow(/non-empty subset of v1, v1alpha2/);
  });
});

describe('ReferenceGrant', () => {
  it('is served at v1 and v1beta1 with create, read, list by label, replace, patch and delete', async () => {
    const { api, cluster } = await start();
    for (const version of ['v1', 'v1beta1']) {
      const doc = await discovery(cluster, `/apis/${group}/${version}`);
      expect(doc.body.resources.find((r: { name: string }) => r.name === 'referencegrants')).toEqual({
        name: 'referencegrants',
        singularName: 'referencegrant',
        namespaced: true,
        kind: 'ReferenceGrant',
        verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
        shortNames: ['refgrant'],
        categories: ['gateway-api'],
      });
    }
    const at = (version: string) => ({ group, version, namespace: 'apps', plural: 'referencegrants' });
    const grant = (name: string, labels: Record<string, string>) => ({
      apiVersion: `${group}/v1beta1`,
      kind: 'ReferenceGrant',
      metadata: { name, labels },
      spec: { from: [{ group, kind: 'TCPRoute', namespace }], to: [{ group: '', kind: 'Service' }] },
    });
    const created = await api.createNamespacedCustomObject({ ...at('v1beta1'), body: grant('routes-to-apps', { appingress: 'gw' }) });
    expect(created).toMatchObject({ apiVersion: `${group}/v1beta1`, metadata: { generation: 1, namespace: 'apps' } });
    await api.createNamespacedCustomObject({ ...at('v1'), body: { ...grant('other', { appingress: 'else' }), apiVersion: `${group}/v1` } });

    const read = await api.getNamespacedCustomObject({ ...at('v1'), name: 'routes-to-apps' });
    expect(read).toMatchObject({ apiVersion: `${group}/v1`, spec: created.spec });
    const listed = await api.listNamespacedCustomObject({ ...at('v1'), labelSelector: 'appingress=gw' });
    expect(listed.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(['routes-to-apps']);

    const replaced = await api.replaceNamespacedCustomObject({ ...at('v1'), name: 'routes-to-apps', body: { ...read, spec: { ...read.spec, to: [{ group: '', kind: 'Service', name: 'db' }] } } });
    expect(replaced.metadata.generation).toBe(2);
    const patched = await api.patchNamespacedCustomObject({ ...at('v1beta1'), name: 'routes-to-apps', body: { metadata: { labels: { appingress: 'gw', extra: 'yes' } } } }, merge);
    expect(patched.metadata.labels).toEqual({ appingress: 'gw', extra: 'yes' });
    expect(patched.spec.to).toEqual([{ group: '', kind: 'Service', name: 'db' }]);

    const deleted = await api.deleteNamespacedCustomObject({ ...at('v1'), name: 'routes-to-apps' });
    expect(deleted.metadata.name).toBe('routes-to-apps');
    expect((await failureOf(api.getNamespacedCustomObject({ ...at('v1beta1'), name: 'routes-to-apps' }))).code).toBe(404);
    const rest = await api.listNamespacedCustomObject(at('v1beta1'));
    expect(rest.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(['other']);
  });
});

describe('gateway fixture', () => {
  it('creates labelled Gateways and returns the addresses the controller gave them', async () => {
    const { api, cluster } = await start({ lbIpPool: ['198.51.100.7', '198.51.100.8'] });
    const addresses = await createGateways(cluster, { namespace: 'edge', label: 'public', names: ['gw-a', 'gw-b'] });
    expect(addresses).toEqual(['198.51.100.7', '198.51.100.8']);
    const listed = await api.listNamespacedCustomObject({ group, version: 'v1', namespace: 'edge', plural: 'gateways', labelSelector: 'appingress=public' });
    expect(listed.items.map((g: { metadata: { name: string } }) => g.metadata.name)).toEqual(['gw-a', 'gw-b']);
  });

  it('gives up when no controller hands out addresses', async () => {
    const { cluster } = await start({ gatewayApi: { controller: false } });
    await expect(createGateways(cluster, { names: ['idle'], timeoutMs: 50 })).rejects.toThrow('Gateways without an address after 50 ms: idle');
  });
});
