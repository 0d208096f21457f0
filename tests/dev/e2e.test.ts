// End to end through the dev gateway: deploy-and-expose and undeploy calling the helm and
// ingress-rule functions over HTTP, the real helm binary, the emulated cluster with an
// ingress-nginx controller, a local chart repository.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { signBody } from '#runtime/auth.js';
import type { Cluster } from '../../dev/cluster/index.js';
import { startDevStack, type DevStack } from '../../dev/dev-stack.js';
import { BASE_PORTS, callbackReceiver, caller, controllerPorts, releaseSecrets, ruleEntries, type Answer } from './e2e-helpers.js';

let stack: DevStack;
let cluster: Cluster;
let post: (path: string, body?: unknown, headers?: Record<string, string>) => Promise<Answer>;
let ip: string;

beforeAll(async () => {
  stack = await startDevStack({
    env: { ...process.env, USE_EMBEDDED_CLUSTER: '1', LOG_LEVEL: 'silent', PORT_RANGE: '24000-24999', HELM_TIMEOUT_SECONDS: '30' },
    charts: [
      {
        name: 'iot-gateway',
        version: '0.1.0',
        services: [{ ports: [{ name: 'mqtt', port: 1883 }, { name: 'coap', port: 5683, protocol: 'UDP' }] }],
      },
    ],
  });
  cluster = stack.cluster!;
  ip = stack.ingress.ip!;
  post = caller(stack.gateway.url, stack.auth.token);
});

afterAll(async () => {
  await stack?.close();
});

afterEach(() => {
  cluster.faults.clear();
});

const deployBody = (releaseName: string, extra: object = {}) => ({
  chartName: 'iot-gateway',
  releaseName,
  namespace: 'tenant-a',
  privateChartsRepo: stack.repo.url,
  ...extra,
});

async function undeploy(releaseName: string): Promise<Answer> {
  return post('/function/undeploy', { releaseName, namespace: 'tenant-a' });
}

describe('deploy-and-expose end to end', () => {
  test('exposes every port of the release: ConfigMap entries and controller Service ports exist', async () => {
    const res = await post('/function/deploy-and-expose', deployBody('e2e-one'));
    expect(res.status).toBe(201);
    const [tcp, udp] = res.body.endpoints;
    expect(res.body).toEqual({
      releaseName: 'e2e-one',
      namespace: 'tenant-a',
      created: true,
      endpoints: [
        { ip, port: tcp.port, protocol: 'tcp', serviceName: 'e2e-one', servicePort: 1883 },
        { ip, port: udp.port, protocol: 'udp', serviceName: 'e2e-one', servicePort: 5683 },
      ],
    });
    expect(ruleEntries(cluster, 'tcp')).toEqual({ [tcp.port]: 'tenant-a/e2e-one:1883' });
    expect(ruleEntries(cluster, 'udp')).toEqual({ [udp.port]: 'tenant-a/e2e-one:5683' });
    expect(controllerPorts(cluster)).toEqual([...BASE_PORTS, `tcp-${tcp.port} ${tcp.port}/TCP`, `udp-${udp.port} ${udp.port}/UDP`].sort());
    expect(releaseSecrets(cluster, 'tenant-a', 'e2e-one')).toEqual(['sh.helm.release.v1.e2e-one.v1']);

    const first = await undeploy('e2e-one');
    expect(first).toMatchObject({ status: 200 });
    expect(first.body).toEqual({ releaseName: 'e2e-one', namespace: 'tenant-a', removedEndpoints: res.body.endpoints, uninstalled: true });
    const second = await undeploy('e2e-one');
    expect(second.status).toBe(200);
    expect(second.body).toEqual({ releaseName: 'e2e-one', namespace: 'tenant-a', removedEndpoints: [], uninstalled: false });
    expect([ruleEntries(cluster, 'tcp'), ruleEntries(cluster, 'udp'), controllerPorts(cluster)]).toEqual([{}, {}, BASE_PORTS]);
    expect(releaseSecrets(cluster, 'tenant-a', 'e2e-one')).toEqual([]);
  });

  test('the same request delivered 100 times at once: one release, one port per Service port, same answer', async () => {
    const answers = await Promise.all(Array.from({ length: 100 }, () => post('/function/deploy-and-expose', deployBody('e2e-dup'))));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(99);
    const endpoints = answers[0].body.endpoints;
    expect(endpoints).toHaveLength(2);
    for (const a of answers) expect(a.body).toEqual({ releaseName: 'e2e-dup', namespace: 'tenant-a', created: a.status === 201, endpoints });
    expect(releaseSecrets(cluster, 'tenant-a', 'e2e-dup')).toEqual(['sh.helm.release.v1.e2e-dup.v1']);
    expect(ruleEntries(cluster, 'tcp')).toEqual({ [endpoints[0].port]: 'tenant-a/e2e-dup:1883' });
    expect(ruleEntries(cluster, 'udp')).toEqual({ [endpoints[1].port]: 'tenant-a/e2e-dup:5683' });
    expect(controllerPorts(cluster)).toHaveLength(BASE_PORTS.length + 2);

    expect((await undeploy('e2e-dup')).body.removedEndpoints).toEqual(endpoints);
    expect([ruleEntries(cluster, 'tcp'), ruleEntries(cluster, 'udp'), controllerPorts(cluster)]).toEqual([{}, {}, BASE_PORTS]);
  });

  test('exposure fails after the install: the error is answered, no port leaks, the new release is uninstalled', async () => {
    // Every write of the udp ConfigMap fails, beyond every retry: the tcp rule is made first, then
    // the udp claim fails.
    cluster.faults.inject({ verb: ['update', 'patch', 'create'], resource: 'configmaps', name: 'udp-services', status: 500 });
    const res = await post('/function/deploy-and-expose', deployBody('e2e-fail'));
    expect(res.status).toBe(502);
    expect(res.body.error).toMatchObject({ code: 'KUBE_API_ERROR', details: { rolledBack: true } });
    expect([ruleEntries(cluster, 'tcp'), ruleEntries(cluster, 'udp'), controllerPorts(cluster)]).toEqual([{}, {}, BASE_PORTS]);
    expect(releaseSecrets(cluster, 'tenant-a', 'e2e-fail')).toEqual([]);
    expect(cluster.store.list({ resource: 'services', namespace: 'tenant-a' }).map((s) => s.metadata?.name)).not.toContain('e2e-fail');
  });

  test('exposure fails on a release that already existed: its rules made by this call go, the release stays', async () => {
    const helmOnly = await post('/function/helm/install', deployBody('e2e-kept'));
    expect(helmOnly.status).toBe(201);
    cluster.faults.inject({ verb: ['update', 'patch', 'create'], resource: 'configmaps', name: 'udp-services', status: 500 });
    const res = await post('/function/deploy-and-expose', deployBody('e2e-kept'));
    expect([res.status, res.body.error.code, res.body.error.details.rolledBack]).toEqual([502, 'KUBE_API_ERROR', true]);
    expect([ruleEntries(cluster, 'tcp'), ruleEntries(cluster, 'udp'), controllerPorts(cluster)]).toEqual([{}, {}, BASE_PORTS]);
    expect(releaseSecrets(cluster, 'tenant-a', 'e2e-kept')).toEqual(['sh.helm.release.v1.e2e-kept.v1']);
    cluster.faults.clear();
    expect((await undeploy('e2e-kept')).body.uninstalled).toBe(true);
  });

  test('a rollback that cannot finish answers PARTIAL_DEPLOYMENT; undeploy cleans up once the cluster recovers', async () => {
    // The udp claim fails, and so does the uninstall of the rollback (helm cannot delete its release record).
    cluster.faults.inject({ verb: ['update', 'patch', 'create'], resource: 'configmaps', name: 'udp-services', status: 500 });
    cluster.faults.inject({ verb: 'delete', resource: 'secrets', namespace: 'tenant-a', status: 500 });
    const res = await post('/function/deploy-and-expose', deployBody('e2e-partial'));
    expect(res.status).toBe(502);
    expect(res.body.error).toMatchObject({
      code: 'PARTIAL_DEPLOYMENT',
      details: {
        rolledBack: false,
        cause: { code: 'KUBE_API_ERROR' },
        releaseName: 'e2e-partial',
        namespace: 'tenant-a',
        remaining: { release: true, rules: [] },
        failures: [{ step: 'uninstall' }],
      },
    });
    expect([ruleEntries(cluster, 'tcp'), ruleEntries(cluster, 'udp'), controllerPorts(cluster)]).toEqual([{}, {}, BASE_PORTS]);
    expect(releaseSecrets(cluster, 'tenant-a', 'e2e-partial')).not.toEqual([]);
    cluster.faults.clear();
    const cleaned = await undeploy('e2e-partial');
    expect([cleaned.status, cleaned.body.uninstalled]).toEqual([200, true]);
    expect(releaseSecrets(cluster, 'tenant-a', 'e2e-partial')).toEqual([]);
  });

  test('a caller signing its body (X-Hub-Signature-256, no token) is served: sibling calls carry the secret token', async () => {
    const body = JSON.stringify(deployBody('e2e-signed'));
    const res = await fetch(`${stack.gateway.url}/function/deploy-and-expose`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(body, stack.auth.token) },
      body,
    });
    expect(res.status).toBe(201);
    expect((await res.json()).endpoints).toHaveLength(2);
    expect((await undeploy('e2e-signed')).body.removedEndpoints).toHaveLength(2);
  });

  test('async: 202 with X-Call-Id at once, the result is POSTed to X-Callback-Url', async () => {
    const receiver = await callbackReceiver();
    try {
      const accepted = await post('/async-function/deploy-and-expose', deployBody('e2e-async'), { 'x-callback-url': `${receiver.url}/done` });
      expect(accepted.status).toBe(202);
      const callId = accepted.headers.get('x-call-id');
      expect(callId).toMatch(/^[\w-]{8,}$/);
      const callback = await receiver.received;
      expect(callback.path).toBe('/done');
      expect(callback.headers).toMatchObject({ 'x-call-id': callId, 'x-function-status-code': '201', 'x-function-name': 'deploy-and-expose' });
      const body = JSON.parse(callback.body);
      expect(body).toMatchObject({ releaseName: 'e2e-async', namespace: 'tenant-a', created: true });
      expect(body.endpoints.map((e: { protocol: string }) => e.protocol)).toEqual(['tcp', 'udp']);
    } finally {
      receiver.close();
    }
    expect((await undeploy('e2e-async')).body.removedEndpoints).toHaveLength(2);
  });

  test('async errors reach the callback with their status (a wrong token is refused by the function)', async () => {
    const receiver = await callbackReceiver();
    try {
      const accepted = await caller(stack.gateway.url, 'wrong')('/async-function/undeploy', { releaseName: 'x' }, {
        'x-callback-url': `${receiver.url}/`,
        'x-call-id': 'my-call-1',
      });
      expect([accepted.status, accepted.headers.get('x-call-id')]).toEqual([202, 'my-call-1']);
      const callback = await receiver.received;
      expect(callback.headers).toMatchObject({ 'x-call-id': 'my-call-1', 'x-function-status-code': '401', 'x-function-name': 'undeploy' });
      expect(JSON.parse(callback.body)).toEqual({ error: { code: 'UNAUTHORIZED', message: 'Unauthorized' } });
    } finally {
      receiver.close();
    }
  });
});
