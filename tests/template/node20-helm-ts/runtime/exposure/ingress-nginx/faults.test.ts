// Kubernetes API faults during claims. nock cannot intercept client-node 2.x (it sends through
// undici's fetch with its own dispatcher), so the faults come from the emulator's fault injection.
import { describe, expect, test } from 'vitest';
import type { Cluster } from '../../../../../../dev/cluster/index.js';
import { backends, clusterPerTest, configMapData, expectAgreement, ingressFor, lbIp, LB_NAMESPACE } from './cluster.js';

let cluster: Cluster | undefined;

const claim = { namespace: 't', serviceName: 'db0', servicePort: 5432, protocol: 'tcp' as const };
const startIngressCluster = clusterPerTest(backends('t', 'db', 1));

describe('Kubernetes API faults', () => {
  test('500 twice, then success: the claim goes through on retries', async () => {
    cluster = await startIngressCluster();
    cluster.faults.inject({ verb: 'get', resource: 'configmaps', name: 'tcp-services', status: 500, times: 2 });
    cluster.faults.inject({ verb: 'update', resource: 'services', name: 'nginx-a', status: 503, times: 1, retryAfterSeconds: 0 });
    expect(await ingressFor(cluster).claim(claim)).toEqual({ ...claim, ip: lbIp(cluster, 'nginx-a'), port: 30000, created: true });
    expect(cluster.requests.count({ verb: 'get', resource: 'configmaps', status: 500 })).toBe(2);
    expect(cluster.requests.count({ verb: 'update', resource: 'services', status: 503 })).toBe(1);
    expectAgreement(cluster);
  });

  test('500 forever: KUBE_API_ERROR (502) naming the call, the status and the attempts', async () => {
    cluster = await startIngressCluster();
    cluster.faults.inject({ verb: 'get', resource: 'configmaps', status: 500 });
    const err = await ingressFor(cluster).claim(claim).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'KUBE_API_ERROR',
      status: 502,
      message: `Kubernetes API answered 500 InternalError (read ConfigMap ${LB_NAMESPACE}/tcp-services): Internal error occurred: injected fault; gave up after 5 attempts`,
      details: { operation: `read ConfigMap ${LB_NAMESPACE}/tcp-services`, status: 500, reason: 'InternalError', attempts: 5 },
    });
    expect(cluster.requests.count({ verb: 'get', resource: 'configmaps', status: 500 })).toBe(5);
    expect(configMapData(cluster, 'tcp-services')).toBeUndefined();
  });

  test('403 is not retried', async () => {
    cluster = await startIngressCluster();
    cluster.faults.inject({ verb: 'list', resource: 'services', status: 403 });
    await expect(ingressFor(cluster).claim(claim)).rejects.toMatchObject({ code: 'KUBE_API_ERROR', details: { status: 403, attempts: 1 } });
    expect(cluster.requests.count({ verb: 'list', resource: 'services' })).toBe(1);
  });

  test('an API server that stops answering gives an error within the timeouts, not a hang', async () => {
    cluster = await startIngressCluster();
    cluster.faults.delay({ verb: 'get', resource: 'configmaps', ms: 5000 });
    const started = Date.now();
    const err = await ingressFor(cluster, { retry: { timeoutMs: 100, attempts: 3, baseDelayMs: 1, maxDelayMs: 5 } })
      .claim(claim)
      .catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(err).toMatchObject({
      code: 'KUBE_API_ERROR',
      status: 502,
      message: `Kubernetes API did not answer within 100 ms (read ConfigMap ${LB_NAMESPACE}/tcp-services); gave up after 3 attempt(s)`,
      details: { reason: 'Timeout', attempts: 3, timeoutMs: 100 },
    });
  });
});
