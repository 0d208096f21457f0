/** The emulator's HTTP API as any Kubernetes client sees it: discovery, CRUD semantics, watches, errors, faults. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../../../dev/cluster/index.js';
import { encodeKubeProtobuf } from '../../../dev/cluster/protobuf.js';

let cluster: Cluster;

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

async function api(method: string, path: string, options: { body?: unknown; contentType?: string; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  let body: BodyInit | undefined;
  if (options.body instanceof Uint8Array) {
    body = Buffer.from(options.body) as unknown as BodyInit;
    headers['Content-Type'] = options.contentType ?? 'application/vnd.kubernetes.protobuf';
  } else if (typeof options.body === 'string') {
    body = options.body;
    headers['Content-Type'] = options.contentType ?? 'application/json';
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['Content-Type'] = options.contentType ?? 'application/json';
  }
  const response = await fetch(`${cluster.url}${path}`, { method, headers, body, signal: options.signal });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // plain text (healthz)
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

const cm = (name: string, extra: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...extra }, data: { k: 'v' } });

/** Reads a watch stream until `count` events arrived (or the server ended it). */
async function watchEvents(path: string, count: number): Promise<any[]> {
  const controller = new AbortController();
  const response = await fetch(`${cluster.url}${path}`, { signal: controller.signal });
  expect(response.headers.get('content-type')).toBe('application/json');
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const events: any[] = [];
  try {
    while (events.length < count) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        events.push(JSON.parse(buffer.slice(0, newline)));
        buffer = buffer.slice(newline + 1);
      }
    }
  } finally {
    controller.abort();
  }
  return events;
}

beforeAll(async () => {
  cluster = await startCluster({
    watchHistory: 50,
    seed: [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'seeded', namespace: 'team' }, data: { a: '1' } },
    ],
    authorize: (r) => !(r.resource === 'secrets' && r.namespace === 'locked') && r.user !== 'intruder',
  });
});

afterAll(async () => {
  await cluster?.stop();
});

beforeEach(() => {
  cluster.faults.clear();
});

describe('non-resource endpoints and discovery', () => {
  it('serves version and health', async () => {
    const version = await api('GET', '/version');
    expect(version.status).toBe(200);
    expect(version.body).toMatchObject({ major: '1', minor: '35', gitVersion: expect.stringMatching(/^v1\.35\.\d+$/), platform: 'linux/amd64' });
    for (const path of ['/healthz', '/readyz', '/livez']) expect(await api('GET', path)).toMatchObject({ status: 200, body: 'ok' });
  });

  it('lists default namespaces, the kubernetes Service and seeded objects', () => {
    expect(cluster.store.list({ resource: 'namespaces' }).map((n) => n.metadata.name)).toEqual(['default', 'kube-node-lease', 'kube-public', 'kube-system', 'team']);
    expect(cluster.store.get({ resource: 'services', name: 'kubernetes' })!.spec.clusterIP).toBe('10.96.0.1');
    expect(cluster.store.get({ resource: 'cm', namespace: 'team', name: 'seeded' })!.data).toEqual({ a: '1' });
  });

  it('serves legacy discovery documents', async () => {
    expect((await api('GET', '/api')).body).toEqual({
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: cluster.url.replace('http://', '') }],
    });
    const groups = (await api('GET', '/apis')).body;
    expect(groups.kind).toBe('APIGroupList');
    expect(Object.fromEntries(groups.groups.map((g: any) => [g.name, g.versions.map((v: any) => v.version)]))).toEqual({
      apps: ['v1'],
      batch: ['v1'],
      'networking.k8s.io': ['v1'],
      'rbac.authorization.k8s.io': ['v1'],
      policy: ['v1'],
      autoscaling: ['v2'],
      'apiextensions.k8s.io': ['v1'],
      'gateway.networking.k8s.io': ['v1', 'v1beta1', 'v1alpha2'],
    });
    expect((await api('GET', '/apis/gateway.networking.k8s.io')).body).toEqual({
      kind: 'APIGroup',
      apiVersion: 'v1',
      name: 'gateway.networking.k8s.io',
      versions: [
        { groupVersion: 'gateway.networking.k8s.io/v1', version: 'v1' },
        { groupVersion: 'gateway.networking.k8s.io/v1beta1', version: 'v1beta1' },
        { groupVersion: 'gateway.networking.k8s.io/v1alpha2', version: 'v1alpha2' },
      ],
      preferredVersion: { groupVersion: 'gateway.networking.k8s.io/v1', version: 'v1' },
    });
    const alpha = (await api('GET', '/apis/gateway.networking.k8s.io/v1alpha2')).body;
    expect(alpha.resources.map((r: any) => r.name)).toEqual(['tcproutes', 'tcproutes/status', 'udproutes', 'udproutes/status']);
    const apps = (await api('GET', '/apis/apps/v1')).body;
    expect(apps.resources.find((r: any) => r.name === 'deployments')).toEqual({
      name: 'deployments',
      singularName: 'deployment',
      namespaced: true,
      kind: 'Deployment',
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['deploy'],
      categories: ['all'],
    });
    expect(apps.resources.find((r: any) => r.name === 'deployments/status')).toEqual({ name: 'deployments/status', singularName: '', namespaced: true, kind: 'Deployment', verbs: ['get', 'patch', 'update'] });
    const core = (await api('GET', '/api/v1')).body;
    expect(core.groupVersion).toBe('v1');
    expect(core.resources.find((r: any) => r.name === 'namespaces')).toMatchObject({ namespaced: false, shortNames: ['ns'] });
    expect(core.resources.filter((r: any) => !r.name.includes('/')).map((r: any) => r.name)).toEqual([
      'configmaps', 'endpoints', 'events', 'namespaces', 'persistentvolumeclaims', 'pods', 'secrets', 'serviceaccounts', 'services',
    ]);
    expect((await api('GET', '/apis/nothing.example.com/v1')).status).toBe(404);
  });

  it('serves aggregated discovery when asked for it', async () => {
    const accept = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';
    const core = await api('GET', '/api', { headers: { Accept: accept } });
    expect(core.headers.get('content-type')).toBe('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    expect(core.body.items).toHaveLength(1);
    expect(core.body.items[0].versions[0].resources.find((r: any) => r.resource === 'services')).toEqual({
      resource: 'services',
      responseKind: { group: '', version: 'v1', kind: 'Service' },
      scope: 'Namespaced',
      singularResource: 'service',
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['svc'],
      categories: ['all'],
      subresources: [{ subresource: 'status', responseKind: { group: '', version: 'v1', kind: 'Service' }, verbs: ['get', 'patch', 'update'] }],
    });
    const groups = await api('GET', '/apis', { headers: { Accept: accept } });
    expect(groups.body.items.map((g: any) => g.metadata.name)).toContain('gateway.networking.k8s.io');
    const plain = await api('GET', '/apis', { headers: { Accept: 'application/json' } });
    expect(plain.body.kind).toBe('APIGroupList');
  });

  it('advertises fieldValidation on every PATCH in OpenAPI v3 and has no v2', async () => {
    const index = (await api('GET', '/openapi/v3')).body;
    expect(Object.keys(index.paths)).toEqual(expect.arrayContaining(['api/v1', 'apis/apps/v1', 'apis/gateway.networking.k8s.io/v1alpha2']));
    const doc = (await api('GET', index.paths['apis/apps/v1'].serverRelativeURL)).body;
    const patch = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch;
    expect(patch['x-kubernetes-group-version-kind']).toEqual({ group: 'apps', version: 'v1', kind: 'Deployment' });
    expect(patch.parameters).toContainEqual({ name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } });
    expect((await api('GET', '/openapi/v2')).status).toBe(404);
  });
});

describe('CRUD semantics', () => {
  it('answers unknown paths and wrong methods like the real server', async () => {
    expect(await api('GET', '/api/v1/namespaces/default/widgets')).toMatchObject({
      status: 404,
      body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'the server could not find the requested resource', reason: 'NotFound', details: {}, code: 404 },
    });
    expect((await api('POST', '/api/v1/namespaces/default/configmaps/x', { body: cm('x') })).status).toBe(405);
    expect((await api('GET', '/api/v1/namespaces/default/namespaces')).status).toBe(404);
  });

  it('rejects invalid names with 422 and writes into a missing namespace with 404', async () => {
    const bad = await api('POST', '/api/v1/namespaces/default/configmaps', { body: cm('Bad_Name') });
    expect(bad.status).toBe(422);
    const detail =
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    expect(bad.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": ${detail}`,
      reason: 'Invalid',
      details: { name: 'Bad_Name', kind: 'ConfigMap', causes: [{ reason: 'FieldValueInvalid', message: `Invalid value: "Bad_Name": ${detail}`, field: 'metadata.name' }] },
      code: 422,
    });
    const missing = await api('POST', '/api/v1/namespaces/nowhere/configmaps', { body: cm('x') });
    expect(missing).toMatchObject({ status: 404, body: { message: 'namespaces "nowhere" not found', reason: 'NotFound', details: { name: 'nowhere', kind: 'namespaces' } } });
    const mismatch = await api('POST', '/api/v1/namespaces/default/configmaps', { body: cm('x', { namespace: 'team' }) });
    expect(mismatch).toMatchObject({ status: 400, body: { reason: 'BadRequest', message: 'the namespace of the provided object does not match the namespace sent on the request' } });
    const wrongName = await api('PUT', '/api/v1/namespaces/team/configmaps/seeded', { body: cm('other') });
    expect(wrongName.status).toBe(400);
  });

  it('generates names, supports dry runs and folds Secret stringData into data', async () => {
    const generated = await api('POST', '/api/v1/namespaces/default/configmaps', { body: { metadata: { generateName: 'gen-' } } });
    expect(generated.status).toBe(201);
    expect(generated.body.metadata.name).toMatch(/^gen-[a-z0-9]{5}$/);

    const before = cluster.store.resourceVersion;
    const dry = await api('POST', '/api/v1/namespaces/default/configmaps?dryRun=All', { body: cm('dry') });
    expect(dry.status).toBe(201);
    expect(dry.body.metadata.name).toBe('dry');
    expect(cluster.store.get({ resource: 'configmaps', namespace: 'default', name: 'dry' })).toBeUndefined();
    expect(cluster.store.resourceVersion).toBe(before);

    const secret = await api('POST', '/api/v1/namespaces/default/secrets', { body: { metadata: { name: 's' }, stringData: { password: 'hunter2' }, data: { user: 'YWRtaW4=' } } });
    expect(secret.status).toBe(201);
    expect(secret.body).toMatchObject({ type: 'Opaque', data: { user: 'YWRtaW4=', password: 'aHVudGVyMg==' } });
    expect(secret.body.stringData).toBeUndefined();
  });

  it('tracks resourceVersion, generation and the status subresource', async () => {
    const base = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'gen' }, spec: { replicas: 1, selector: { matchLabels: { app: 'g' } }, template: { metadata: { labels: { app: 'g' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } } };
    const path = '/apis/apps/v1/namespaces/default/deployments/gen';
    const created = (await api('POST', '/apis/apps/v1/namespaces/default/deployments', { body: { ...base, status: { replicas: 99 } } })).body;
    expect(created.metadata.generation).toBe(1);
    expect(created.status.replicas).toBe(1);

    const labelled = (await api('PATCH', path, { body: { metadata: { labels: { x: 'y' } } }, contentType: 'application/merge-patch+json' })).body;
    expect(labelled.metadata.generation).toBe(1);
    expect(Number(labelled.metadata.resourceVersion)).toBeGreaterThan(Number(created.metadata.resourceVersion));

    const scaled = (await api('PATCH', path, { body: { spec: { replicas: 2 }, status: { replicas: 42 } }, contentType: 'application/merge-patch+json' })).body;
    expect([scaled.metadata.generation, scaled.status.replicas, scaled.status.observedGeneration]).toEqual([2, 2, 2]);

    const status = await api('PATCH', `${path}/status`, { body: { spec: { replicas: 7 }, status: { replicas: 5 } }, contentType: 'application/merge-patch+json' });
    expect([status.body.metadata.generation, status.body.spec.replicas, status.body.status.replicas]).toEqual([2, 2, 5]);

    // An empty resourceVersion in a PUT body means "unconditional".
    const { resourceVersion: _drop, ...meta } = scaled.metadata;
    const unconditional = await api('PUT', path, { body: { ...scaled, metadata: meta } });
    expect(unconditional.status).toBe(200);
    const unchanged = await api('PUT', path, { body: unconditional.body });
    expect(unchanged.body.metadata.resourceVersion).toBe(unconditional.body.metadata.resourceVersion);
  });

  it('filters by field selector and pages with limit/continue', async () => {
    for (const name of ['p1', 'p2', 'p3']) await api('POST', '/api/v1/namespaces/team/configmaps', { body: cm(name, { labels: { page: 'yes' } }) });
    const byName = await api('GET', '/api/v1/configmaps?fieldSelector=metadata.name%3Dp2');
    expect(byName.body.items.map((i: any) => `${i.metadata.namespace}/${i.metadata.name}`)).toEqual(['team/p2']);
    const notTeam = await api('GET', '/api/v1/configmaps?fieldSelector=metadata.namespace!%3Dteam&labelSelector=page');
    expect(notTeam.body.items).toEqual([]);
    const first = await api('GET', '/api/v1/namespaces/team/configmaps?labelSelector=page%3D%3Dyes&limit=2');
    expect(first.body.items.map((i: any) => i.metadata.name)).toEqual(['p1', 'p2']);
    expect(first.body.metadata.remainingItemCount).toBe(1);
    const second = await api('GET', `/api/v1/namespaces/team/configmaps?labelSelector=page%3D%3Dyes&limit=2&continue=${first.body.metadata.continue}`);
    expect(second.body.items.map((i: any) => i.metadata.name)).toEqual(['p3']);
    expect(second.body.metadata.continue).toBeUndefined();
    expect((await api('GET', '/api/v1/configmaps?labelSelector=a%20b%20c')).status).toBe(400);
  });

  it('deletes collections by label and namespaces with their content', async () => {
    const deleted = await api('DELETE', '/api/v1/namespaces/team/configmaps?labelSelector=page');
    expect(deleted.status).toBe(200);
    expect(deleted.body.kind).toBe('ConfigMapList');
    expect(deleted.body.items.map((i: any) => i.metadata.name)).toEqual(['p1', 'p2', 'p3']);
    expect(cluster.store.list({ resource: 'configmaps', namespace: 'team' }).map((c) => c.metadata.name)).toEqual(['seeded']);

    await api('POST', '/api/v1/namespaces', { body: { metadata: { name: 'doomed' } } });
    await api('POST', '/api/v1/namespaces/doomed/configmaps', { body: cm('inside') });
    const gone = await api('DELETE', '/api/v1/namespaces/doomed');
    expect(gone).toMatchObject({ status: 200, body: { kind: 'Namespace', status: { phase: 'Terminating' } } });
    expect(cluster.store.get({ resource: 'namespaces', name: 'doomed' })).toBeUndefined();
    expect(cluster.store.list({ resource: 'configmaps', namespace: 'doomed' })).toEqual([]);
  });

  it('answers DELETE with a success Status, honours preconditions, finalizers and owner references', async () => {
    const created = (await api('POST', '/api/v1/namespaces/default/configmaps', { body: cm('owner') })).body;
    await api('POST', '/api/v1/namespaces/default/configmaps', {
      body: cm('owned', { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: created.metadata.uid }] }),
    });
    const stale = await api('DELETE', '/api/v1/namespaces/default/configmaps/owner', { body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { resourceVersion: '1' } } });
    expect(stale).toMatchObject({ status: 409, body: { reason: 'Conflict' } });
    const deleted = await api('DELETE', '/api/v1/namespaces/default/configmaps/owner');
    expect(deleted.body).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: 'owner', kind: 'configmaps', uid: created.metadata.uid } });
    expect(cluster.store.get({ resource: 'configmaps', namespace: 'default', name: 'owned' })).toBeUndefined();

    await api('POST', '/api/v1/namespaces/default/configmaps', { body: cm('held', { finalizers: ['example.com/hold'] }) });
    const pending = await api('DELETE', '/api/v1/namespaces/default/configmaps/held');
    expect(pending.status).toBe(202);
    expect(pending.body.metadata.deletionTimestamp).toEqual(expect.any(String));
    expect(cluster.store.get({ resource: 'configmaps', namespace: 'default', name: 'held' })).toBeDefined();
    await api('PATCH', '/api/v1/namespaces/default/configmaps/held', { body: [{ op: 'remove', path: '/metadata/finalizers' }], contentType: 'application/json-patch+json' });
    expect(cluster.store.get({ resource: 'configmaps', namespace: 'default', name: 'held' })).toBeUndefined();
  });

  it('server-side applies: creates, then drops fields the manager stopped applying', async () => {
    const path = '/api/v1/namespaces/default/configmaps/applied?fieldManager=tool&force=true';
    const yaml = (data: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n${data}`;
    const created = await api('PATCH', path, { body: yaml('  a: "1"\n  b: "2"\n'), contentType: 'application/apply-patch+yaml' });
    expect(created).toMatchObject({ status: 201, body: { data: { a: '1', b: '2' } } });
    await api('PATCH', '/api/v1/namespaces/default/configmaps/applied', { body: { data: { other: 'x' } }, contentType: 'application/merge-patch+json' });
    const reapplied = await api('PATCH', path, { body: yaml('  a: "3"\n'), contentType: 'application/apply-patch+yaml' });
    expect(reapplied.body.data).toEqual({ a: '3', other: 'x' });
    const noManager = await api('PATCH', '/api/v1/namespaces/default/configmaps/applied', { body: yaml('  a: "3"\n'), contentType: 'application/apply-patch+yaml' });
    expect(noManager.status).toBe(422);
    const unknownType = await api('PATCH', '/api/v1/namespaces/default/configmaps/applied', { body: '{}', contentType: 'text/plain' });
    expect(unknownType).toMatchObject({ status: 415, body: { reason: 'UnsupportedMediaType' } });
  });

  it('decodes protobuf bodies and refuses kinds it cannot decode', async () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'proto', labels: { owner: 'helm' } }, type: 'helm.sh/release.v1', data: { release: Buffer.from('payload').toString('base64') } };
    const created = await api('POST', '/api/v1/namespaces/default/secrets', { body: encodeKubeProtobuf(secret) });
    expect(created.status).toBe(201);
    expect(created.headers.get('content-type')).toBe('application/json');
    expect(created.body).toMatchObject({ kind: 'Secret', type: 'helm.sh/release.v1', metadata: { name: 'proto', labels: { owner: 'helm' } }, data: { release: 'cGF5bG9hZA==' } });
    const garbage = await api('POST', '/api/v1/namespaces/default/services', { body: new Uint8Array([0x6b, 0x38, 0x73, 0x00, 0x0a, 0x02]) });
    expect(garbage).toMatchObject({ status: 415, body: { reason: 'UnsupportedMediaType', code: 415 } });
  });

  it('serves custom resources once their CRD exists and drops them with it', async () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'gadgets.example.com' },
      spec: { group: 'example.com', scope: 'Cluster', names: { plural: 'gadgets', kind: 'Gadget', shortNames: ['gd'] }, versions: [{ name: 'v1', served: true, storage: true, subresources: { status: {} } }] },
    };
    expect((await api('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: crd })).status).toBe(201);
    expect((await api('GET', '/apis/example.com/v1')).body.resources.map((r: any) => [r.name, r.namespaced])).toEqual([
      ['gadgets', false],
      ['gadgets/status', false],
    ]);
    const gadget = await api('POST', '/apis/example.com/v1/gadgets', { body: { apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g1' }, spec: { size: 1 } } });
    expect(gadget.body).toMatchObject({ kind: 'Gadget', apiVersion: 'example.com/v1', metadata: { name: 'g1', generation: 1 } });
    const strategic = await api('PATCH', '/apis/example.com/v1/gadgets/g1', { body: { spec: { size: 2 } }, contentType: 'application/strategic-merge-patch+json' });
    expect(strategic.status).toBe(415);
    await api('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.example.com');
    expect((await api('GET', '/apis/example.com/v1/gadgets/g1')).status).toBe(404);
  });
});

describe('watches', () => {
  it('replays changes after a resourceVersion, then streams, filtered by labels', async () => {
    const from = cluster.store.resourceVersion;
    await api('POST', '/api/v1/namespaces/team/configmaps', { body: cm('w1', { labels: { w: 'yes' } }) });
    await api('POST', '/api/v1/namespaces/team/configmaps', { body: cm('w2') });
    const stream = watchEvents(`/api/v1/namespaces/team/configmaps?watch=true&resourceVersion=${from}&labelSelector=w`, 3);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await api('PATCH', '/api/v1/namespaces/team/configmaps/w1', { body: { data: { k: 'v2' } }, contentType: 'application/merge-patch+json' });
    await api('DELETE', '/api/v1/namespaces/team/configmaps/w1');
    const events = await stream;
    expect(events.map((e) => [e.type, e.object.metadata.name, e.object.kind, e.object.apiVersion])).toEqual([
      ['ADDED', 'w1', 'ConfigMap', 'v1'],
      ['MODIFIED', 'w1', 'ConfigMap', 'v1'],
      ['DELETED', 'w1', 'ConfigMap', 'v1'],
    ]);
    expect(Number(events[2].object.metadata.resourceVersion)).toBeGreaterThan(Number(events[1].object.metadata.resourceVersion));
  });

  it('sends initial events and the initial-events-end bookmark for watch-list', async () => {
    const events = await watchEvents('/api/v1/namespaces/team/configmaps?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true', 3);
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'ADDED', 'BOOKMARK']);
    expect(events[2].object).toEqual({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: cluster.store.resourceVersion, annotations: { 'k8s.io/initial-events-end': 'true' } } });
  });

  it('answers a too old resourceVersion with a 410 Expired event and ends watches on timeout', async () => {
    for (let i = 0; i < 60; i++) await api('PATCH', '/api/v1/namespaces/team/configmaps/seeded', { body: { data: { n: String(i) } }, contentType: 'application/merge-patch+json' });
    const events = await watchEvents('/api/v1/namespaces/team/configmaps?watch=true&resourceVersion=1001', 5);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', status: 'Failure', reason: 'Expired', code: 410, message: expect.stringMatching(/^too old resource version: 1001 \(\d+\)$/) } });
    const started = Date.now();
    const timedOut = await watchEvents(`/api/v1/namespaces/team/configmaps?watch=true&resourceVersion=${cluster.store.resourceVersion}&timeoutSeconds=1`, 1);
    expect(timedOut).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });
});

describe('authorization, faults and the request log over HTTP', () => {
  it('answers 403 Forbidden like the real authorizer', async () => {
    await api('POST', '/api/v1/namespaces', { body: { metadata: { name: 'locked' } } });
    const denied = await api('GET', '/api/v1/namespaces/locked/secrets/x', { headers: { Authorization: 'Bearer system:serviceaccount:openfaas-fn:default' } });
    expect(denied).toMatchObject({ status: 403 });
    expect(denied.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'secrets "x" is forbidden: User "system:serviceaccount:openfaas-fn:default" cannot get resource "secrets" in API group "" in the namespace "locked"',
      reason: 'Forbidden',
      details: { name: 'x', kind: 'secrets' },
      code: 403,
    });
    const clusterScope = await api('GET', '/apis/apps/v1/deployments', { headers: { Authorization: 'Bearer intruder' } });
    expect(clusterScope.body.message).toBe('deployments.apps is forbidden: User "intruder" cannot list resource "deployments" in API group "apps" at the cluster scope');
  });

  it('takes faults and serves the request log at /_emulator', async () => {
    await api('DELETE', '/_emulator/requests');
    const added = await api('POST', '/_emulator/faults', { body: { type: 'inject', verb: 'create', resource: 'configmaps', status: 503, times: 1 } });
    expect(added.status).toBe(201);
    const failed = await api('POST', '/api/v1/namespaces/default/configmaps', { body: cm('f1') });
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBeNull();
    expect(failed.body).toMatchObject({ reason: 'ServiceUnavailable', code: 503 });
    expect((await api('POST', '/api/v1/namespaces/default/configmaps', { body: cm('f1') })).status).toBe(201);

    await api('POST', '/_emulator/faults', { body: { type: 'delay', verb: 'get', resource: 'configmaps', ms: 400 } });
    await expect(api('GET', '/api/v1/namespaces/default/configmaps/f1', { signal: AbortSignal.timeout(100) })).rejects.toThrow();
    expect((await api('GET', '/_emulator/faults')).body.faults).toEqual([expect.objectContaining({ kind: 'delay', ms: 400 })]);
    await api('DELETE', '/_emulator/faults');
    expect((await api('GET', '/api/v1/namespaces/default/configmaps/f1')).status).toBe(200);

    await api('POST', '/_emulator/faults', { body: { type: 'conflictNext', resource: 'configmaps', namespace: 'default', name: 'f1' } });
    expect((await api('PATCH', '/api/v1/namespaces/default/configmaps/f1', { body: { data: {} }, contentType: 'application/merge-patch+json' })).status).toBe(409);

    // The delayed request is logged when the server answers it, after the client gave up.
    await expect.poll(async () => (await api('GET', '/_emulator/requests')).body.counters, { interval: 50, timeout: 2000 }).toEqual({
      'create configmaps': 2,
      'get configmaps': 2,
      'patch configmaps': 1,
    });
    const log = (await api('GET', '/_emulator/requests')).body;
    expect(log.entries.map((e: any) => [e.verb, e.name ?? '', e.status])).toEqual([
      ['create', '', 503],
      ['create', '', 201],
      ['get', 'f1', 200],
      ['patch', 'f1', 409],
      ['get', 'f1', 200],
    ]);
    // The delayed read took about the 400 ms asked (a timer may fire a millisecond early); the others did not wait.
    expect(log.entries[4].ms).toBeGreaterThan(350);
    expect(log.entries[3].ms).toBeLessThan(350);
    expect(log.entries[0]).toMatchObject({ verb: 'create', group: '', resource: 'configmaps', namespace: 'default', status: 503, contentType: 'application/json', method: 'POST' });
  });
});
