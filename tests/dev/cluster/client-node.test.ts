/** @kubernetes/client-node 2.x over real HTTP against the emulator: the calls the functions make. */
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../../../dev/cluster/index.js';

let cluster: Cluster;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let kubeconfig: k8s.KubeConfig;
const namespace = 'client';

const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const strategic = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);
const jsonPatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch);

/** The ApiException a call rejects with, its Status body parsed. */
async function failureOf(call: Promise<unknown>): Promise<{ code: number; body: any; headers: Record<string, string> }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof k8s.ApiException) {
      return { code: error.code, body: typeof error.body === 'string' ? JSON.parse(error.body) : error.body, headers: error.headers };
    }
    throw error;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  cluster = await startCluster({ seed: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }] });
  kubeconfig = new k8s.KubeConfig();
  kubeconfig.loadFromFile(cluster.kubeconfigPath);
  core = kubeconfig.makeApiClient(k8s.CoreV1Api);
  apps = kubeconfig.makeApiClient(k8s.AppsV1Api);
});

afterAll(async () => {
  await cluster?.stop();
});

beforeEach(() => {
  cluster.faults.clear();
  cluster.requests.reset();
});

describe('ConfigMaps with client-node', () => {
  it('creates, reads, replaces with the current resourceVersion and bumps it', async () => {
    const created = await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'ports', labels: { role: 'tcp' } }, data: { '9000': 'a/b:80' } } });
    expect(created.metadata).toMatchObject({ name: 'ports', namespace, labels: { role: 'tcp' } });
    expect(created.metadata!.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata!.creationTimestamp).toBeInstanceOf(Date);
    const read = await core.readNamespacedConfigMap({ name: 'ports', namespace });
    expect(read.data).toEqual({ '9000': 'a/b:80' });
    read.data = { ...read.data, '9001': 'a/c:53' };
    const replaced = await core.replaceNamespacedConfigMap({ name: 'ports', namespace, body: read });
    expect(replaced.data).toEqual({ '9000': 'a/b:80', '9001': 'a/c:53' });
    expect(Number(replaced.metadata!.resourceVersion)).toBeGreaterThan(Number(created.metadata!.resourceVersion));
  });

  it('answers a stale replace with 409 Conflict, shaped like the real server', async () => {
    const current = await core.readNamespacedConfigMap({ name: 'ports', namespace });
    await core.patchNamespacedConfigMap({ name: 'ports', namespace, body: { data: { '9002': 'a/d:1' } } }, merge);
    const failure = await failureOf(core.replaceNamespacedConfigMap({ name: 'ports', namespace, body: current }));
    expect(failure.code).toBe(409);
    expect(failure.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Operation cannot be fulfilled on configmaps "ports": the object has been modified; please apply your changes to the latest version and try again',
      reason: 'Conflict',
      details: { name: 'ports', kind: 'configmaps' },
      code: 409,
    });
  });

  it('answers a missing object with 404 NotFound and an existing name with 409 AlreadyExists', async () => {
    const missing = await failureOf(core.readNamespacedConfigMap({ name: 'nope', namespace }));
    expect(missing).toMatchObject({ code: 404 });
    expect(missing.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'configmaps "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', kind: 'configmaps' },
      code: 404,
    });
    const exists = await failureOf(core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'ports' } } }));
    expect(exists.code).toBe(409);
    expect(exists.body).toMatchObject({ reason: 'AlreadyExists', message: 'configmaps "ports" already exists', details: { name: 'ports', kind: 'configmaps' } });
  });

  it('merge-patches and JSON-patches; a failed test operation is 422', async () => {
    const patched = await core.patchNamespacedConfigMap({ name: 'ports', namespace, body: { data: { '9002': null, '9003': 'a/e:2' } } }, merge);
    expect(patched.data).toEqual({ '9000': 'a/b:80', '9001': 'a/c:53', '9003': 'a/e:2' });
    const tested = await core.patchNamespacedConfigMap(
      { name: 'ports', namespace, body: [{ op: 'test', path: '/metadata/resourceVersion', value: patched.metadata!.resourceVersion }, { op: 'remove', path: '/data/9003' }] },
      jsonPatch,
    );
    expect(Object.keys(tested.data!)).toEqual(['9000', '9001']);
    const failed = await failureOf(
      core.patchNamespacedConfigMap({ name: 'ports', namespace, body: [{ op: 'test', path: '/metadata/resourceVersion', value: patched.metadata!.resourceVersion }] }, jsonPatch),
    );
    expect(failed.code).toBe(422);
    expect(failed.body).toMatchObject({ kind: 'Status', status: 'Failure', code: 422 });
  });

  it('filters lists by label selector', async () => {
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'udp', labels: { role: 'udp' } } } });
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'plain' } } });
    const names = async (labelSelector: string) => (await core.listNamespacedConfigMap({ namespace, labelSelector })).items.map((i) => i.metadata!.name);
    expect(await names('role=tcp')).toEqual(['ports']);
    expect(await names('role in (tcp,udp)')).toEqual(['ports', 'udp']);
    expect(await names('role,role!=tcp')).toEqual(['udp']);
    expect(await names('!role')).toEqual(['plain']);
    const all = await core.listNamespacedConfigMap({ namespace });
    expect(all.metadata!.resourceVersion).toBe(cluster.store.resourceVersion);
    expect(all.items.map((i) => [i.kind, i.apiVersion])).toEqual([
      ['ConfigMap', 'v1'],
      ['ConfigMap', 'v1'],
      ['ConfigMap', 'v1'],
    ]);
  });

  it('delivers watch events from a resourceVersion', async () => {
    const from = (await core.readNamespacedConfigMap({ name: 'plain', namespace })).metadata!.resourceVersion!;
    const events: string[] = [];
    const controller = await new k8s.Watch(kubeconfig).watch(
      `/api/v1/namespaces/${namespace}/configmaps`,
      { resourceVersion: from, labelSelector: 'role' },
      (type, object) => events.push(`${type} ${object.metadata.name}`),
      () => {},
    );
    try {
      await core.patchNamespacedConfigMap({ name: 'udp', namespace, body: { data: { x: 'y' } } }, merge);
      await core.patchNamespacedConfigMap({ name: 'plain', namespace, body: { metadata: { labels: { role: 'late' } } } }, merge);
      await core.deleteNamespacedConfigMap({ name: 'udp', namespace });
      await expect.poll(() => events, { interval: 10, timeout: 5000 }).toEqual(['MODIFIED udp', 'ADDED plain', 'DELETED udp']);
    } finally {
      controller.abort();
    }
  });
});

describe('Services with client-node', () => {
  it('strategic-merges ports by port number and merge-patch replaces the list', async () => {
    const created = await core.createNamespacedService({
      namespace,
      body: { metadata: { name: 'ingress' }, spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443 }] } },
    });
    expect(created.spec!.clusterIP).toMatch(/^10\.96\.\d+\.\d+$/);
    expect(created.status!.loadBalancer!.ingress).toEqual([{ ip: '203.0.113.10', ipMode: 'VIP' }]);
    const [http, https] = created.spec!.ports!;
    expect([http.nodePort, https.nodePort]).toEqual([30000, 30001]);

    const added = await core.patchNamespacedService(
      { name: 'ingress', namespace, body: { spec: { ports: [{ name: 'tcp-9000', port: 9000, targetPort: 9000, protocol: 'TCP' }, { port: 80, targetPort: 8080 }] } } },
      strategic,
    );
    expect(added.spec!.ports!.map((p) => [p.name, p.port, p.targetPort, p.nodePort])).toEqual([
      ['http', 80, 8080, 30000],
      ['https', 443, 443, 30001],
      ['tcp-9000', 9000, 9000, 30002],
    ]);
    expect(added.spec!.clusterIP).toBe(created.spec!.clusterIP);

    const replaced = await core.patchNamespacedService({ name: 'ingress', namespace, body: { spec: { ports: [{ name: 'https', port: 443 }] } } }, merge);
    expect(replaced.spec!.ports!.map((p) => [p.name, p.port, p.nodePort])).toEqual([['https', 443, 30001]]);
    expect(replaced.status!.loadBalancer!.ingress![0].ip).toBe('203.0.113.10');
  });

  it('rejects duplicate ports with 422 Invalid', async () => {
    const current = await core.readNamespacedService({ name: 'ingress', namespace });
    current.spec!.ports!.push({ name: 'again', port: 443, protocol: 'TCP' });
    const failure = await failureOf(core.replaceNamespacedService({ name: 'ingress', namespace, body: current }));
    expect(failure.code).toBe(422);
    expect(failure.body).toMatchObject({
      reason: 'Invalid',
      details: { name: 'ingress', kind: 'Service', causes: [{ reason: 'FieldValueDuplicate', field: 'spec.ports[1]' }] },
    });
    expect(failure.body.message).toMatch(/^Service "ingress" is invalid: spec\.ports\[1\]: Duplicate value: core\.ServicePort\{Name:"", Protocol:"TCP", AppProtocol:\(\*string\)\(nil\), Port:443,/);
  });

  it('lists Deployments created by helm-like server-side apply', async () => {
    const body = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace }, spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } } };
    const applied = await apps.patchNamespacedDeployment({ name: 'web', namespace, body, fieldManager: 'test', force: true }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply));
    expect(applied.status).toMatchObject({ observedGeneration: 1, replicas: 1, readyReplicas: 1, availableReplicas: 1, updatedReplicas: 1 });
    expect(applied.status!.conditions!.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Available', 'True', 'MinimumReplicasAvailable'],
      ['Progressing', 'True', 'NewReplicaSetAvailable'],
    ]);
    expect((await apps.listNamespacedDeployment({ namespace })).items.map((d) => d.metadata!.name)).toEqual(['web']);
  });
});

describe('fault injection seen by client-node', () => {
  it('fails twice with 500 then succeeds', async () => {
    cluster.faults.inject({ verb: 'get', resource: 'configmaps', name: 'ports', status: 500, times: 2 });
    const first = await failureOf(core.readNamespacedConfigMap({ name: 'ports', namespace }));
    expect(first.code).toBe(500);
    expect(first.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'InternalError', code: 500 });
    expect((await failureOf(core.readNamespacedConfigMap({ name: 'ports', namespace }))).code).toBe(500);
    expect((await core.readNamespacedConfigMap({ name: 'ports', namespace })).metadata!.name).toBe('ports');
    expect(cluster.requests.filter({ verb: 'get', resource: 'configmaps' }).map((e) => e.status)).toEqual([500, 500, 200]);
  });

  it('makes the next write of one object conflict, even with the current resourceVersion', async () => {
    cluster.faults.conflictNext({ resource: 'configmaps', namespace, name: 'ports' });
    const current = await core.readNamespacedConfigMap({ name: 'ports', namespace });
    const failure = await failureOf(core.replaceNamespacedConfigMap({ name: 'ports', namespace, body: current }));
    expect(failure.code).toBe(409);
    expect(failure.body.reason).toBe('Conflict');
    const retried = await core.replaceNamespacedConfigMap({ name: 'ports', namespace, body: current });
    expect(retried.metadata!.name).toBe('ports');
    expect(cluster.requests.counters()).toEqual({ 'get configmaps': 1, 'update configmaps': 2 });
  });

  it('answers 429 with Retry-After', async () => {
    cluster.faults.inject({ verb: 'list', resource: 'services', status: 429, times: 1, retryAfterSeconds: 3 });
    const failure = await failureOf(core.listNamespacedService({ namespace }));
    expect(failure.code).toBe(429);
    expect(failure.headers['retry-after']).toBe('3');
    expect(failure.body).toMatchObject({ reason: 'TooManyRequests', details: { retryAfterSeconds: 3 }, code: 429 });
  });
});
