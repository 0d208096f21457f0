// The ingress-rule function driven in-process against the in-memory Kubernetes API (dev/cluster).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { handler } from '../../../functions/ingress-rule/handler.js';
import { loadConfig } from '#runtime/config.js';
import type { Cluster } from '../../../dev/cluster/index.js';
import {
  backends,
  configMapData,
  expectedPorts,
  lbIp,
  LABEL,
  LB_NAMESPACE,
  namespace,
  service,
  servicePorts,
  sortedPorts,
  startIngressCluster,
} from '../../template/node20-helm-ts/runtime/exposure/ingress-nginx/cluster.js';
import { gatewayApi } from '../../template/node20-helm-ts/runtime/exposure/harness.js';
import { invalidInput, invoke } from '../invoke.js';

let cluster: Cluster;
let config: ReturnType<typeof loadConfig>;
let ip: string;

function call(method: string, path: string, body?: unknown, query = '', env: Record<string, string> = {}) {
  return invoke({ handler, config: { ...config, ...(Object.keys(env).length > 0 && loadConfigFor(env)) }, method, path, query, body });
}

function loadConfigFor(env: Record<string, string> = {}) {
  return loadConfig({
    KUBECONFIG: cluster.kubeconfigPath,
    IngressLabel: LABEL,
    LoadBalancerNamespace: LB_NAMESPACE,
    PORT_RANGE: '30000-30999',
    ...env,
  });
}

beforeAll(async () => {
  cluster = await startIngressCluster({
    seed: [
      namespace('shop'),
      service('shop', 'db'),
      service('shop', 'cache', [{ port: 6379 }, { port: 6379, protocol: 'UDP' }]),
      service('shop', 'gone', 9000),
      ...backends('load', 'burst-', 200, [{ port: 7000, protocol: 'UDP' }]),
    ],
  });
  config = loadConfigFor();
  ip = lbIp(cluster, 'nginx-a');
});
afterAll(() => cluster.stop());

const db = { serviceName: 'db', servicePort: 5432, namespace: 'shop' };

describe('POST /create', () => {
  test('201 for a new rule, 200 with the same port when repeated', async () => {
    expect(await call('POST', '/create', { ...db, releaseName: 'shop-db' })).toEqual({
      status: 201,
      body: { ip, port: 30000, protocol: 'tcp', ...db, releaseName: 'shop-db', created: true },
    });
    expect(await call('POST', '/', db)).toEqual({ status: 200, body: { ip, port: 30000, protocol: 'tcp', ...db, created: false } });
    expect(configMapData(cluster, 'tcp-services')).toEqual({ '30000': 'shop/db:5432' });
  });

  test('200 concurrent creates through the handler get 200 distinct ports; ConfigMap and Service agree', async () => {
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => call('POST', '/create', { serviceName: `burst-${i}`, servicePort: 7000, namespace: 'load', protocol: 'udp', lbip: ip })),
    );
    expect(answers.every((a) => a.status === 201)).toBe(true);
    const ports = answers.map((a) => (a.body as { port: number }).port);
    expect(new Set(ports).size).toBe(200);
    const udp = configMapData(cluster, 'udp-services')!;
    expect(Object.keys(udp)).toHaveLength(200);
    answers.forEach((a, i) => expect(udp[String((a.body as { port: number }).port)]).toBe(`load/burst-${i}:7000`));
    expect(sortedPorts(servicePorts(cluster))).toEqual(sortedPorts(expectedPorts(configMapData(cluster, 'tcp-services'), udp)));
    const removed = await call('POST', '/delete', { port: ports[0], protocol: 'udp' });
    expect(removed).toEqual({ status: 200, body: { deleted: [{ ip, port: ports[0], protocol: 'udp', serviceName: 'burst-0', servicePort: 7000, namespace: 'load' }] } });
  });

  test('a requested port outside the range is refused by policy (403)', async () => {
    expect(await call('POST', '/create', { ...db, port: 40000 })).toEqual({
      status: 403,
      body: {
        error: {
          code: 'FORBIDDEN_BY_POLICY',
          message: 'Port 40000 is outside the allowed range 30000-30999',
          details: { rule: 'port-range', range: { from: 30000, to: 30999 } },
        },
      },
    });
  });

  test('a namespace outside ALLOWED_NAMESPACES is refused by policy (403)', async () => {
    const answer = await call('POST', '/create', db, '', { ALLOWED_NAMESPACES: 'tenant-*' });
    expect(answer).toEqual({
      status: 403,
      body: { error: { code: 'FORBIDDEN_BY_POLICY', message: 'Namespace shop is not in the allowed list', details: { rule: 'namespace', allowed: ['tenant-*'] } } },
    });
  });

  test('delete by port and list never reach rules of namespaces outside ALLOWED_NAMESPACES', async () => {
    const created = await call('POST', '/create', { namespace: 'shop', serviceName: 'gone', servicePort: 9000 });
    expect(created.status).toBe(201);
    const port = (created.body as { port: number }).port;
    const outsider = { ALLOWED_NAMESPACES: 'tenant-*' };
    expect(await call('POST', '/delete', { port }, '', outsider)).toEqual({ status: 200, body: { deleted: [] } });
    expect(await call('GET', '/list', undefined, '', outsider)).toEqual({ status: 200, body: { rules: [] } });
    expect(configMapData(cluster, 'tcp-services')![String(port)]).toBe('shop/gone:9000');
    const insider = await call('POST', '/delete', { port }, '', { ALLOWED_NAMESPACES: 'shop' });
    expect(insider).toEqual({
      status: 200,
      body: { deleted: [{ ip, port, protocol: 'tcp', serviceName: 'gone', servicePort: 9000, namespace: 'shop' }] },
    });
    expect(configMapData(cluster, 'tcp-services')![String(port)]).toBeUndefined();
  });

  test('a taken port is 409 PORT_TAKEN; an unknown lbip is 404', async () => {
    expect(await call('POST', '/create', { ...db, serviceName: 'cache', servicePort: 6379, port: 30000 })).toEqual({
      status: 409,
      body: {
        error: {
          code: 'PORT_TAKEN',
          message: `Port 30000/tcp on ${ip} is already mapped to shop/db:5432`,
          details: { ip, port: 30000, protocol: 'tcp', backend: 'shop/db:5432' },
        },
      },
    });
    expect(await call('POST', '/create', { ...db, lbip: '2001:db8::1' })).toEqual({
      status: 404,
      body: {
        error: {
          code: 'INGRESS_CONTROLLER_NOT_FOUND',
          message: 'No ingress controller has the address 2001:db8::1',
          details: { lbip: '2001:db8::1', known: [ip] },
        },
      },
    });
  });

  test('the body is validated strictly', async () => {
    expect(await call('POST', '/create', { serviceName: 'Bad_Name', servicePort: 0, namespace: 'shop', protocol: 'sctp', lbip: '1.2.3', extra: 1 })).toEqual(
      invalidInput([
        { path: '/', message: 'unknown property "extra"' },
        { path: '/serviceName', message: 'must match pattern "^[a-z]([-a-z0-9]*[a-z0-9])?$"' },
        { path: '/servicePort', message: 'must be >= 1' },
        { path: '/protocol', message: 'must be equal to one of the allowed values' },
        { path: '/lbip', message: 'must match format "ipv4"' },
        { path: '/lbip', message: 'must match format "ipv6"' },
        { path: '/lbip', message: 'must match pattern "^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"' },
        { path: '/lbip', message: 'must match a schema in anyOf' },
      ]),
    );
    expect((await call('POST', '/create', undefined)).status).toBe(400);
  });
});

describe('POST /delete', () => {
  test('by backend, then again (empty); a body without port or backend is 400', async () => {
    await call('POST', '/create', { serviceName: 'cache', servicePort: 6379, namespace: 'shop', protocol: 'udp' });
    const cachePort = Number(Object.entries(configMapData(cluster, 'udp-services')!).find(([, v]) => v === 'shop/cache:6379')![0]);
    expect(await call('POST', '/delete', { namespace: 'shop', serviceName: 'cache', servicePort: 6379, protocol: 'udp' })).toEqual({
      status: 200,
      body: { deleted: [{ ip, port: cachePort, protocol: 'udp', serviceName: 'cache', servicePort: 6379, namespace: 'shop' }] },
    });
    expect(await call('POST', '/delete', { namespace: 'shop', serviceName: 'cache' })).toEqual({ status: 200, body: { deleted: [] } });
    const bad = await call('POST', '/delete', { protocol: 'tcp' });
    expect([bad.status, (bad.body as { error: { code: string } }).error.code]).toEqual([400, 'INVALID_INPUT']);
  });
});

describe('GET /list and POST /repair', () => {
  test('list shows the rules; repair is a dry run unless dryRun is false', async () => {
    await call('POST', '/create', { serviceName: 'gone', servicePort: 9000, namespace: 'shop' });
    const list = await call('GET', '/list', undefined, `lbip=${ip}`);
    expect(list.status).toBe(200);
    const rules = (list.body as { rules: { port: number; serviceName: string; protocol: string }[] }).rules;
    expect(rules.filter((r) => r.protocol === 'tcp')).toEqual([
      { ip, port: 30000, protocol: 'tcp', serviceName: 'db', servicePort: 5432, namespace: 'shop' },
      { ip, port: 30001, protocol: 'tcp', serviceName: 'gone', servicePort: 9000, namespace: 'shop' },
    ]);
    cluster.store.delete({ resource: 'services', namespace: 'shop', name: 'gone' });
    cluster.store.delete({ resource: 'namespaces', name: 'load' });
    const repaired = await call('POST', '/repair', {});
    expect(repaired.status).toBe(200);
    const body = repaired.body as { dryRun: boolean; removed: { serviceName: string; reason: string }[]; fixed: unknown[] };
    expect([body.dryRun, body.fixed, body.removed.length]).toEqual([true, [], 200]);
    expect(body.removed[0]).toEqual({ ip, port: 30001, protocol: 'tcp', serviceName: 'gone', servicePort: 9000, namespace: 'shop', reason: 'ServiceNotFound' });
    expect(Object.keys(configMapData(cluster, 'udp-services')!)).toHaveLength(199);

    expect((await call('POST', '/repair', { dryRun: false })).body).toMatchObject({ dryRun: false, fixed: [] });
    expect(await call('GET', '/list')).toEqual({
      status: 200,
      body: { rules: [{ ip, port: 30000, protocol: 'tcp', serviceName: 'db', servicePort: 5432, namespace: 'shop' }] },
    });
    expect(sortedPorts(servicePorts(cluster))).toEqual(sortedPorts(expectedPorts({ '30000': 'shop/db:5432' })));
  });
});

describe('routing', () => {
  test('unknown paths are 404 and wrong methods 405', async () => {
    expect((await call('POST', '/nope', {})).status).toBe(404);
    expect((await call('GET', '/create')).body).toEqual({ error: { code: 'METHOD_NOT_ALLOWED', message: 'Use POST for /create' } });
    expect((await call('POST', '/list', {})).status).toBe(405);
  });
});

describe('with EXPOSURE_BACKEND=gateway-api', () => {
  test('the same requests and answers, served by listeners and routes on a shared Gateway', async () => {
    const gwCluster = await gatewayApi.start({ seed: [namespace('shop'), service('shop', 'db')] });
    try {
      const gwConfig = loadConfig({
        KUBECONFIG: gwCluster.kubeconfigPath,
        IngressLabel: LABEL,
        LoadBalancerNamespace: LB_NAMESPACE,
        PORT_RANGE: '30000-30999',
        EXPOSURE_BACKEND: 'gateway-api',
      });
      const gw = (method: string, path: string, body?: unknown) => invoke({ handler, config: gwConfig, method, path, query: '', body });
      const [gwIp] = gatewayApi.addresses(gwCluster);
      const rule = { ip: gwIp, port: 30000, protocol: 'tcp', ...db };

      expect(await gw('POST', '/create', { ...db, releaseName: 'shop-db' })).toEqual({
        status: 201,
        body: { ...rule, releaseName: 'shop-db', created: true },
      });
      expect(await gw('POST', '/create', db)).toEqual({ status: 200, body: { ...rule, created: false } });
      expect(gatewayApi.dataPlane(gwCluster)).toEqual(new Map([[`${gwIp} tcp/30000`, 'shop/db:5432']]));
      expect(await gw('GET', '/list')).toEqual({ status: 200, body: { rules: [rule] } });
      expect(await gw('POST', '/repair', {})).toEqual({ status: 200, body: { dryRun: true, removed: [], fixed: [] } });
      expect(await gw('POST', '/delete', { port: 30000 })).toEqual({ status: 200, body: { deleted: [rule] } });
      expect(gatewayApi.dataPlane(gwCluster).size).toBe(0);
    } finally {
      await gwCluster.stop();
    }
  });
});
