// undeploy's calls to its siblings, simulated with nock (the sibling client uses global fetch).
import nock, { expectAllMocksUsed } from '../../template/node20-helm-ts/runtime/orchestrator/nock.js';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { handler } from '../../../functions/undeploy/handler.js';
import { loadConfig } from '#runtime/config.js';
import { invalidInput, invoke } from '../invoke.js';

const GATEWAY = 'http://gateway.test:8080';
const AUTH = 'Bearer s3cret';
const config = loadConfig({ GATEWAY_URL: GATEWAY });

const call = (body: unknown) => invoke({ handler, config, method: 'POST', headers: { authorization: AUTH }, body, callId: 'c-2' });

const sibling = () => nock(GATEWAY, { reqheaders: { authorization: AUTH, 'x-call-id': 'c-2' } });
const notFound = { error: { code: 'RELEASE_NOT_FOUND', message: 'release r1 not found' } };
const deleted = (serviceName: string, servicePort: number, protocol: string, port: number) => ({
  deleted: [{ ip: '203.0.113.10', port, protocol, serviceName, servicePort, namespace: 'tenant-a' }],
});

beforeAll(() => nock.disableNetConnect());
afterEach(expectAllMocksUsed);

describe('undeploy', () => {
  test('deletes the rules of every Service of the release, then uninstalls it', async () => {
    sibling()
      .post('/function/helm/status', { releaseName: 'r1', namespace: 'tenant-a' })
      .reply(200, {
        releaseName: 'r1',
        namespace: 'tenant-a',
        status: 'deployed',
        services: [
          { name: 'r1', namespace: 'tenant-a', ports: [{ port: 1883, protocol: 'TCP' }] },
          { name: 'r1-udp', namespace: 'tenant-a', ports: [{ port: 5683, protocol: 'UDP' }] },
        ],
      });
    sibling()
      .post('/function/ingress-rule/delete', { namespace: 'tenant-a', serviceName: 'r1' })
      .reply(200, deleted('r1', 1883, 'tcp', 20000))
      .post('/function/ingress-rule/delete', { namespace: 'tenant-a', serviceName: 'r1-udp' })
      .reply(200, deleted('r1-udp', 5683, 'udp', 20000));
    sibling()
      .post('/function/helm/uninstall', { releaseName: 'r1', namespace: 'tenant-a' })
      .reply(200, { releaseName: 'r1', namespace: 'tenant-a', uninstalled: true });
    expect(await call({ releaseName: 'r1', namespace: 'tenant-a' })).toEqual({
      status: 200,
      body: {
        releaseName: 'r1',
        namespace: 'tenant-a',
        removedEndpoints: [
          { ip: '203.0.113.10', port: 20000, protocol: 'tcp', serviceName: 'r1', servicePort: 1883 },
          { ip: '203.0.113.10', port: 20000, protocol: 'udp', serviceName: 'r1-udp', servicePort: 5683 },
        ],
        uninstalled: true,
      },
    });
  });

  test('a missing release is fine: nothing removed, uninstalled false', async () => {
    sibling().post('/function/helm/status', { releaseName: 'r1' }).reply(404, notFound);
    sibling().post('/function/helm/uninstall', { releaseName: 'r1' }).reply(404, notFound);
    expect(await call({ releaseName: 'r1' })).toEqual({
      status: 200,
      body: { releaseName: 'r1', namespace: 'default', removedEndpoints: [], uninstalled: false },
    });
  });

  test('a failed rule deletion fails the call before the uninstall, so a retry finds the rules again', async () => {
    sibling()
      .post('/function/helm/status')
      .reply(200, { releaseName: 'r1', namespace: 'tenant-a', services: [{ name: 'r1', namespace: 'tenant-a', ports: [{ port: 1883 }] }] });
    sibling().post('/function/ingress-rule/delete').reply(500, { error: { code: 'INTERNAL', message: 'boom' } });
    expect(await call({ releaseName: 'r1', namespace: 'tenant-a' })).toEqual({
      status: 500,
      body: { error: { code: 'INTERNAL', message: 'boom' } },
    });
  });

  test('other status errors are passed through', async () => {
    sibling().post('/function/helm/status').reply(403, { error: { code: 'FORBIDDEN_BY_POLICY', message: 'namespace kube-system is not allowed' } });
    expect(await call({ releaseName: 'r1', namespace: 'kube-system' })).toEqual({
      status: 403,
      body: { error: { code: 'FORBIDDEN_BY_POLICY', message: 'namespace kube-system is not allowed' } },
    });
  });

  test('the body is validated', async () => {
    expect(await call({ releaseName: 'r1', chartName: 'x' })).toEqual(invalidInput([{ path: '/', message: 'unknown property "chartName"' }]));
  });
});
