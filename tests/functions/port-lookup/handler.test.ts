// The port-lookup function driven in-process against the in-memory Kubernetes API (dev/cluster).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { handler } from '../../../functions/port-lookup/handler.js';
import { loadConfig } from '#runtime/config.js';
import type { Cluster } from '../../../dev/cluster/index.js';
import { configMapData, CONTROLLER_B, lbIp, LABEL, LB_NAMESPACE, startIngressCluster } from '../../template/node20-helm-ts/runtime/exposure/ingress-nginx/cluster.js';
import { gatewayApi, gatewayObject } from '../../template/node20-helm-ts/runtime/exposure/harness.js';
import { invalidInput, invoke } from '../invoke.js';

let cluster: Cluster;

function call(method: string, query = '', body?: unknown, env: Record<string, string> = {}) {
  const config = loadConfig({ KUBECONFIG: cluster.kubeconfigPath, IngressLabel: LABEL, LoadBalancerNamespace: LB_NAMESPACE, PORT_RANGE: '30000-30999', ...env });
  return invoke({ handler, config, method, query, body });
}

beforeAll(async () => {
  cluster = await startIngressCluster({ controllers: [{ name: 'nginx-a' }, CONTROLLER_B] });
  // Existing entries: a has two tcp ports in use, b one udp port.
  cluster.store.create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'tcp-services', namespace: LB_NAMESPACE },
    data: { '30000': 'x/a:1', '30001': 'x/b:1' },
  });
  cluster.store.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'udp-b', namespace: LB_NAMESPACE }, data: { '30000': 'x/c:53' } });
});
afterAll(() => cluster.stop());

describe('port-lookup', () => {
  test('GET with a query: the first free port of the chosen controller, nothing claimed', async () => {
    const a = lbIp(cluster, 'nginx-a');
    const b = lbIp(cluster, 'nginx-b');
    expect(await call('GET', `protocol=tcp&lbip=${a}`)).toEqual({ status: 200, body: { ip: a, port: 30002, protocol: 'tcp' } });
    expect(await call('GET', `protocol=tcp&lbip=${a}`)).toEqual({ status: 200, body: { ip: a, port: 30002, protocol: 'tcp' } });
    // Without lbip: the least used controller (b has no tcp entries).
    expect(await call('GET')).toEqual({ status: 200, body: { ip: b, port: 30000, protocol: 'tcp' } });
    expect(configMapData(cluster, 'tcp-services')).toEqual({ '30000': 'x/a:1', '30001': 'x/b:1' });
    expect(configMapData(cluster, 'tcp-b')).toBeUndefined();
  });

  test('POST with a body', async () => {
    const b = lbIp(cluster, 'nginx-b');
    expect(await call('POST', '', { protocol: 'udp', lbip: b })).toEqual({ status: 200, body: { ip: b, port: 30001, protocol: 'udp' } });
    expect(await call('POST', '', undefined)).toEqual({ status: 200, body: { ip: b, port: 30000, protocol: 'tcp' } });
  });

  test('errors: invalid input 400, unknown lbip 404, full range 507, wrong method 405', async () => {
    expect(await call('GET', 'protocol=sctp&x=1')).toEqual(
      invalidInput([
        { path: '/', message: 'unknown property "x"' },
        { path: '/protocol', message: 'must be equal to one of the allowed values' },
      ]),
    );
    expect((await call('GET', 'lbip=192.0.2.1')).body).toMatchObject({ error: { code: 'INGRESS_CONTROLLER_NOT_FOUND' } });
    const a = lbIp(cluster, 'nginx-a');
    expect(await call('GET', `lbip=${a}`, undefined, { PORT_RANGE: '30000-30001' })).toEqual({
      status: 507,
      body: {
        error: {
          code: 'NO_FREE_PORT',
          message: 'No free tcp port left in 30000-30001 on any ingress controller',
          details: { protocol: 'tcp', range: { from: 30000, to: 30001 }, ips: [a] },
        },
      },
    });
    expect((await call('DELETE')).status).toBe(405);
  });
});

describe('with EXPOSURE_BACKEND=gateway-api', () => {
  test('the first free port of the first Gateway with room, skipping ports its listeners use', async () => {
    const gwCluster = await gatewayApi.start({ pools: 0 });
    try {
      gwCluster.store.create(gatewayObject('pool-a', [{ name: 'http', protocol: 'HTTP', port: 80 }, { name: 'db', protocol: 'TCP', port: 30000 }]));
      const config = loadConfig({
        KUBECONFIG: gwCluster.kubeconfigPath,
        IngressLabel: LABEL,
        LoadBalancerNamespace: LB_NAMESPACE,
        PORT_RANGE: '30000-30999',
        EXPOSURE_BACKEND: 'gateway-api',
      });
      const [ip] = gatewayApi.addresses(gwCluster);
      expect(await invoke({ handler, config, method: 'GET', query: 'protocol=tcp' })).toEqual({ status: 200, body: { ip, port: 30001, protocol: 'tcp' } });
      expect(await invoke({ handler, config, method: 'GET', query: 'protocol=udp' })).toEqual({ status: 200, body: { ip, port: 30000, protocol: 'udp' } });
    } finally {
      await gwCluster.stop();
    }
  });
});
