// The orchestration logic against siblings simulated with nock (the sibling client uses global
// fetch): which calls are made, in which order, with which bodies, and what is answered.
import nock, { expectAllMocksUsed } from '../../template/node20-helm-ts/runtime/orchestrator/nock.js';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { handler } from '../../../functions/deploy-and-expose/handler.js';
import { loadConfig } from '#runtime/config.js';
import { invalidInput, invoke } from '../invoke.js';

const GATEWAY = 'http://gateway.test:8080';
const AUTH = 'Bearer s3cret';
const config = loadConfig({ GATEWAY_URL: GATEWAY, HELM_TIMEOUT_SECONDS: '5', PORT_RANGE: '20000-30000' });

const call = (body: unknown, { method = 'POST', path = '/' } = {}) =>
  invoke({ handler, config, method, path, headers: { authorization: AUTH, 'x-call-id': 'c-1' }, body, callId: 'c-1' });

const sibling = () => nock(GATEWAY, { reqheaders: { authorization: AUTH, 'x-call-id': 'c-1' } });
const errorBody = (code: string, message = code) => ({ error: { code, message } });

const services = [
  { name: 'r1-udp', namespace: 'tenant-a', type: 'ClusterIP', ports: [{ name: 'coap', port: 5683, protocol: 'UDP' }] },
  {
    name: 'r1',
    namespace: 'tenant-a',
    type: 'ClusterIP',
    ports: [
      { name: 'mqtt', port: 1883, protocol: 'TCP' },
      { name: 'sctp', port: 9, protocol: 'SCTP' },
    ],
  },
];
const installed = (created = true) => ({
  releaseName: 'r1',
  namespace: 'tenant-a',
  revision: 1,
  status: 'deployed',
  chart: 'iot-gateway',
  created,
  services,
});
const rule = (serviceName: string, servicePort: number, protocol: string, port: number, created = true) => ({
  ip: '203.0.113.10',
  port,
  protocol,
  serviceName,
  servicePort,
  namespace: 'tenant-a',
  releaseName: 'r1',
  created,
});

beforeAll(() => nock.disableNetConnect());
afterEach(expectAllMocksUsed);

describe('deploy-and-expose', () => {
  test('installs, then exposes every TCP/UDP Service port in a stable order', async () => {
    const input = { chartName: 'iot-gateway', releaseName: 'r1', namespace: 'tenant-a', values: { a: '1' }, privateChartsRepo: 'http://repo' };
    sibling().post('/function/helm/install', input).reply(201, installed());
    sibling()
      .post('/function/ingress-rule/create', { namespace: 'tenant-a', serviceName: 'r1', servicePort: 1883, protocol: 'tcp', releaseName: 'r1' })
      .reply(201, rule('r1', 1883, 'tcp', 20000))
      .post('/function/ingress-rule/create', { namespace: 'tenant-a', serviceName: 'r1-udp', servicePort: 5683, protocol: 'udp', releaseName: 'r1' })
      .reply(201, rule('r1-udp', 5683, 'udp', 20000));
    expect(await call(input)).toEqual({
      status: 201,
      body: {
        releaseName: 'r1',
        namespace: 'tenant-a',
        created: true,
        endpoints: [
          { ip: '203.0.113.10', port: 20000, protocol: 'tcp', serviceName: 'r1', servicePort: 1883 },
          { ip: '203.0.113.10', port: 20000, protocol: 'udp', serviceName: 'r1-udp', servicePort: 5683 },
        ],
      },
    });
  });

  test('the TCP and the UDP claim are made side by side', async () => {
    let udpArrived!: () => void;
    const udp = new Promise<boolean>((resolve) => (udpArrived = () => resolve(true)));
    const given = (ms: number) => new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms));
    sibling().post('/function/helm/install').reply(201, installed());
    sibling()
      .post('/function/ingress-rule/create', (b) => b.serviceName === 'r1')
      // Answered only once the UDP claim has arrived too: claims made one after the other never get there.
      .reply(async () =>
        (await Promise.race([udp, given(2000)])) ? [201, rule('r1', 1883, 'tcp', 20000)] : [409, errorBody('CONFLICT', 'the UDP claim never came')],
      )
      .post('/function/ingress-rule/create', (b) => b.serviceName === 'r1-udp')
      .reply(() => {
        udpArrived();
        return [201, rule('r1-udp', 5683, 'udp', 20000)];
      });
    const res = await call({ chartName: 'iot-gateway' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ endpoints: [{ protocol: 'tcp', serviceName: 'r1' }, { protocol: 'udp', serviceName: 'r1-udp' }] });
  });

  test('a repeated delivery answers 200 with the same endpoints', async () => {
    sibling().post('/function/helm/install').reply(200, installed(false));
    sibling()
      .post('/function/ingress-rule/create')
      .reply(200, rule('r1', 1883, 'tcp', 20000, false))
      .post('/function/ingress-rule/create')
      .reply(200, rule('r1-udp', 5683, 'udp', 20000, false));
    const res = await call({ chartName: 'iot-gateway', releaseName: 'r1' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ created: false, endpoints: [{ port: 20000, protocol: 'tcp' }, { port: 20000, protocol: 'udp' }] });
  });

  test('a notice from ingress-rule (a full Gateway) reaches the caller on its endpoint', async () => {
    const notice = 'Gateway gateways/a (203.0.113.10) is full (64 listeners); the rule is on Gateway gateways/b (203.0.113.11)';
    sibling().post('/function/helm/install').reply(201, installed());
    sibling()
      .post('/function/ingress-rule/create', (b) => b.protocol === 'tcp')
      .reply(201, { ...rule('r1', 1883, 'tcp', 20000), ip: '203.0.113.11', notice })
      .post('/function/ingress-rule/create', (b) => b.protocol === 'udp')
      .reply(201, rule('r1-udp', 5683, 'udp', 20000));
    const res = await call({ chartName: 'iot-gateway', releaseName: 'r1' });
    expect(res.body).toMatchObject({
      endpoints: [
        { ip: '203.0.113.11', port: 20000, protocol: 'tcp', notice },
        { ip: '203.0.113.10', port: 20000, protocol: 'udp' },
      ],
    });
    expect((res.body as { endpoints: object[] }).endpoints[1]).not.toHaveProperty('notice');
  });

  test('expose narrows the ports and forwards lbip and port', async () => {
    sibling().post('/function/helm/install', { chartName: 'iot-gateway' }).reply(201, installed());
    sibling()
      .post('/function/ingress-rule/create', {
        namespace: 'tenant-a',
        serviceName: 'r1',
        servicePort: 1883,
        protocol: 'tcp',
        releaseName: 'r1',
        lbip: '203.0.113.10',
        port: 24000,
      })
      .reply(201, rule('r1', 1883, 'tcp', 24000));
    const res = await call({ chartName: 'iot-gateway', expose: { serviceName: 'r1', servicePort: 1883, lbip: '203.0.113.10', port: 24000 } });
    expect(res).toEqual({
      status: 201,
      body: {
        releaseName: 'r1',
        namespace: 'tenant-a',
        created: true,
        endpoints: [{ ip: '203.0.113.10', port: 24000, protocol: 'tcp', serviceName: 'r1', servicePort: 1883 }],
      },
    });
  });

  test('an expose.port outside PORT_RANGE or reserved is refused (403) before anything is installed', async () => {
    // No sibling is mocked: nock refuses any call, so reaching helm would fail differently.
    expect(await call({ chartName: 'iot-gateway', expose: { port: 31000 } })).toEqual({
      status: 403,
      body: {
        error: {
          code: 'FORBIDDEN_BY_POLICY',
          message: 'Port 31000 is outside the allowed range 20000-30000',
          details: { rule: 'port-range', range: { from: 20000, to: 30000 } },
        },
      },
    });
    expect((await call({ chartName: 'iot-gateway', expose: { port: 443 } })).body).toMatchObject({
      error: { code: 'FORBIDDEN_BY_POLICY', details: { rule: 'port-reserved' } },
    });
  });

  test('an invalid body is refused before any sibling is called', async () => {
    expect(await call({ releaseName: 'r1', expose: { protocol: 'sctp' } })).toEqual(
      invalidInput([
        { path: '/', message: "must have required property 'chartName'" },
        { path: '/expose/protocol', message: 'must be equal to one of the allowed values' },
      ]),
    );
  });

  test('only POST / is served', async () => {
    expect((await call({}, { path: '/install' })).status).toBe(404);
    expect((await call(undefined, { method: 'GET' })).status).toBe(405);
  });

  test('a helm error is passed through unchanged and nothing is exposed', async () => {
    sibling().post('/function/helm/install').reply(404, { error: { code: 'CHART_NOT_FOUND', message: 'chart nope not found', details: { chart: 'nope' } } });
    expect(await call({ chartName: 'nope' })).toEqual({
      status: 404,
      body: { error: { code: 'CHART_NOT_FOUND', message: 'chart nope not found', details: { chart: 'nope' } } },
    });
  });

  test('exposure failure: created rules and the failed target are deleted, the created release uninstalled', async () => {
    sibling().post('/function/helm/install').reply(201, installed());
    sibling()
      .post('/function/ingress-rule/create', (b) => b.serviceName === 'r1')
      .reply(201, rule('r1', 1883, 'tcp', 20000))
      .post('/function/ingress-rule/create', (b) => b.serviceName === 'r1-udp')
      .reply(507, errorBody('NO_FREE_PORT', 'no free udp port'));
    sibling()
      .post('/function/ingress-rule/delete', { namespace: 'tenant-a', serviceName: 'r1', servicePort: 1883, protocol: 'tcp' })
      .reply(200, { deleted: [] })
      .post('/function/ingress-rule/delete', { namespace: 'tenant-a', serviceName: 'r1-udp', servicePort: 5683, protocol: 'udp' })
      .reply(200, { deleted: [] });
    sibling().post('/function/helm/uninstall', { releaseName: 'r1', namespace: 'tenant-a' }).reply(200, { releaseName: 'r1', namespace: 'tenant-a', uninstalled: true });
    expect(await call({ chartName: 'iot-gateway' })).toEqual({
      status: 507,
      body: { error: { code: 'NO_FREE_PORT', message: 'no free udp port', details: { rolledBack: true } } },
    });
  });

  test('exposure failure on a release this call created: rules found already in place go too', async () => {
    sibling().post('/function/helm/install').reply(201, installed());
    sibling()
      .post('/function/ingress-rule/create', (b) => b.serviceName === 'r1')
      .reply(200, rule('r1', 1883, 'tcp', 20000, false))
      .post('/function/ingress-rule/create', (b) => b.serviceName === 'r1-udp')
      .reply(400, errorBody('INVALID_INPUT', 'bad port'));
    sibling()
      .post('/function/ingress-rule/delete', { namespace: 'tenant-a', serviceName: 'r1-udp', servicePort: 5683, protocol: 'udp' })
      .reply(200, { deleted: [] })
      .post('/function/ingress-rule/delete', { namespace: 'tenant-a', serviceName: 'r1', servicePort: 1883, protocol: 'tcp' })
      .reply(200, { deleted: [] });
    sibling().post('/function/helm/uninstall').reply(200, { releaseName: 'r1', namespace: 'tenant-a', uninstalled: true });
    expect(await call({ chartName: 'iot-gateway' })).toEqual({
      status: 400,
      body: { error: { code: 'INVALID_INPUT', message: 'bad port', details: { rolledBack: true } } },
    });
  });

  test('exposure failure on a release this call did not create: rules made are removed, the release is kept', async () => {
    sibling().post('/function/helm/install').reply(200, installed(false));
    sibling()
      .post('/function/ingress-rule/create', (b) => b.serviceName === 'r1')
      .reply(200, rule('r1', 1883, 'tcp', 20000, false))
      .post('/function/ingress-rule/create', (b) => b.serviceName === 'r1-udp')
      .reply(502, { error: { code: 'KUBE_API_ERROR', message: 'conflict storm', details: { status: 500 } } })
      .post('/function/ingress-rule/create', (b) => b.serviceName === 'r1-udp')
      .times(2)
      .reply(502, { error: { code: 'KUBE_API_ERROR', message: 'conflict storm', details: { status: 500 } } });
    // The pre-existing tcp rule (created:false) is left alone; only the failed target is cleaned.
    sibling()
      .post('/function/ingress-rule/delete', { namespace: 'tenant-a', serviceName: 'r1-udp', servicePort: 5683, protocol: 'udp' })
      .reply(200, { deleted: [] });
    expect(await call({ chartName: 'iot-gateway' })).toEqual({
      status: 502,
      body: { error: { code: 'KUBE_API_ERROR', message: 'conflict storm', details: { status: 500, rolledBack: true } } },
    });
  });

  test('no Service port matches expose: INVALID_INPUT, and the release made by this call is uninstalled', async () => {
    sibling().post('/function/helm/install').reply(201, installed());
    sibling().post('/function/helm/uninstall', { releaseName: 'r1', namespace: 'tenant-a' }).reply(200, { releaseName: 'r1', namespace: 'tenant-a', uninstalled: true });
    expect(await call({ chartName: 'iot-gateway', expose: { serviceName: 'web' } })).toEqual({
      status: 400,
      body: {
        error: {
          code: 'INVALID_INPUT',
          message: 'No Service port of the release matches `expose`',
          details: { expose: { serviceName: 'web' }, available: ['r1-udp:5683/udp', 'r1:1883/tcp'], rolledBack: true },
        },
      },
    });
  });

  test('a failed rollback answers PARTIAL_DEPLOYMENT naming what still exists', async () => {
    sibling().post('/function/helm/install').reply(201, installed());
    sibling()
      .post('/function/ingress-rule/create', (b) => b.serviceName === 'r1')
      .reply(201, rule('r1', 1883, 'tcp', 20000))
      .post('/function/ingress-rule/create', (b) => b.serviceName === 'r1-udp')
      .reply(409, errorBody('PORT_TAKEN', 'port 20000/udp is taken'));
    sibling()
      .post('/function/ingress-rule/delete', (b) => b.serviceName === 'r1')
      .reply(500, errorBody('INTERNAL', 'boom'))
      .post('/function/ingress-rule/delete', (b) => b.serviceName === 'r1-udp')
      .reply(200, { deleted: [] });
    expect(await call({ chartName: 'iot-gateway' })).toEqual({
      status: 502,
      body: {
        error: {
          code: 'PARTIAL_DEPLOYMENT',
          message: 'Exposing release r1 failed (PORT_TAKEN) and the rollback is incomplete; undeploy the release to clean up',
          details: {
            rolledBack: false,
            cause: { code: 'PORT_TAKEN', message: 'port 20000/udp is taken' },
            releaseName: 'r1',
            namespace: 'tenant-a',
            remaining: { release: true, rules: [{ namespace: 'tenant-a', serviceName: 'r1', servicePort: 1883, protocol: 'tcp' }] },
            failures: [
              {
                step: 'delete-rule',
                target: { namespace: 'tenant-a', serviceName: 'r1', servicePort: 1883, protocol: 'tcp' },
                code: 'INTERNAL',
                message: 'boom',
              },
            ],
          },
        },
      },
    });
  });

  test('a failed uninstall during rollback is reported as PARTIAL_DEPLOYMENT with the release remaining', async () => {
    sibling().post('/function/helm/install').reply(201, installed());
    sibling()
      .post('/function/ingress-rule/create')
      .reply(201, rule('r1', 1883, 'tcp', 20000))
      .post('/function/ingress-rule/create')
      .reply(400, errorBody('INVALID_INPUT', 'bad'));
    sibling().post('/function/ingress-rule/delete').times(2).reply(200, { deleted: [] });
    sibling().post('/function/helm/uninstall').reply(500, errorBody('HELM_FAILED', 'uninstall failed'));
    const res = await call({ chartName: 'iot-gateway' });
    expect(res.status).toBe(502);
    expect((res.body as { error: { details: unknown } }).error.details).toMatchObject({
      rolledBack: false,
      remaining: { release: true, rules: [] },
      failures: [{ step: 'uninstall', code: 'HELM_FAILED', message: 'uninstall failed' }],
    });
  });
});
