import nock, { expectAllMocksUsed, hangingServer, jsonServer } from './nock.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createSiblingClient, type SiblingClientOptions } from '#runtime/orchestrator/sibling-client.js';
import { rejectionOf } from '../function-error.js';

const GATEWAY = 'http://gateway.test:8080';
const fast = { attempts: 3, baseDelayMs: 2, maxDelayMs: 10 };

function client(options: Partial<SiblingClientOptions> = {}) {
  return createSiblingClient({ gatewayUrl: GATEWAY, authorization: 'Bearer t0k', callId: 'call-1', retry: fast, ...options });
}

const errorBody = (code: string, message = code, details?: unknown) => ({ error: { code, message, ...(details !== undefined && { details }) } });

beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
});

afterEach(expectAllMocksUsed);

describe('createSiblingClient', () => {
  test('POSTs JSON to /function/<name><path>, forwarding Authorization and X-Call-Id', async () => {
    nock(GATEWAY, { reqheaders: { authorization: 'Bearer t0k', 'x-call-id': 'call-1', 'content-type': 'application/json' } })
      .post('/function/helm/install', { chartName: 'redis' })
      .reply(201, { releaseName: 'r1', created: true });
    const res = await client().call({ function: 'helm', path: '/install', body: { chartName: 'redis' } });
    expect(res).toEqual({ status: 201, body: { releaseName: 'r1', created: true } });
  });

  test('GET without a body sends no content type and no Authorization when the caller had none', async () => {
    nock(GATEWAY, { badheaders: ['authorization', 'content-type'] })
      .get('/function/ingress-rule/list')
      .reply(200, { rules: [] });
    const res = await client({ authorization: undefined }).call({ function: 'ingress-rule', path: '/list' });
    expect(res).toEqual({ status: 200, body: { rules: [] } });
  });

  test('a sibling 500 is passed through with its code, message and details, without retry', async () => {
    nock(GATEWAY).post('/function/helm/install').once().reply(500, errorBody('HELM_FAILED', 'helm exited with 1', { exitCode: 1 }));
    const err = await rejectionOf(client().call({ function: 'helm', path: '/install', body: {} }));
    expect([err.status, err.toJSON()]).toEqual([500, errorBody('HELM_FAILED', 'helm exited with 1', { exitCode: 1 })]);
  });

  test('a 409 other than OPERATION_IN_PROGRESS is passed through at once', async () => {
    nock(GATEWAY).post('/function/helm/install').once().reply(409, errorBody('RELEASE_EXISTS', 'release r1 exists'));
    const err = await rejectionOf(client().call({ function: 'helm', path: '/install', body: {} }));
    expect([err.status, err.code, err.message]).toEqual([409, 'RELEASE_EXISTS', 'release r1 exists']);
  });

  test('409 OPERATION_IN_PROGRESS is retried until the other operation finishes', async () => {
    nock(GATEWAY)
      .post('/function/helm/install')
      .times(5)
      .reply(409, errorBody('OPERATION_IN_PROGRESS'))
      .post('/function/helm/install')
      .reply(200, { releaseName: 'r1', created: false });
    const res = await client().call({ function: 'helm', path: '/install', body: {} });
    expect(res).toEqual({ status: 200, body: { releaseName: 'r1', created: false } });
  });

  test('409 OPERATION_IN_PROGRESS that outlasts the deadline is answered as seen', async () => {
    let calls = 0;
    const server = await jsonServer(() => (calls++, { status: 409, body: errorBody('OPERATION_IN_PROGRESS', 'busy') }));
    const started = Date.now();
    const err = await rejectionOf(client({ gatewayUrl: server.url }).call({ function: 'helm', path: '/install', body: {}, timeoutMs: 150 }));
    await server.close();
    expect([err.status, err.code, err.message]).toEqual([409, 'OPERATION_IN_PROGRESS', 'busy']);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(calls).toBeGreaterThan(2);
  });

  test('502 and 503 are retried a bounded number of times, then passed through', async () => {
    nock(GATEWAY)
      .post('/function/ingress-rule/create')
      .reply(502, errorBody('KUBE_API_ERROR', 'etcd'))
      .post('/function/ingress-rule/create')
      .reply(503, errorBody('NO_INGRESS_CONTROLLER'))
      .post('/function/ingress-rule/create')
      .reply(502, errorBody('KUBE_API_ERROR', 'etcd again'));
    const err = await rejectionOf(client().call({ function: 'ingress-rule', path: '/create', body: {} }));
    expect([err.status, err.code, err.message]).toEqual([502, 'KUBE_API_ERROR', 'etcd again']);
  });

  test('a plain-text gateway 502 is retried and the next answer is used', async () => {
    nock(GATEWAY)
      .post('/function/ingress-rule/create')
      .reply(502, "Can't reach service for: ingress-rule.")
      .post('/function/ingress-rule/create')
      .reply(201, { port: 20000 });
    const res = await client().call({ function: 'ingress-rule', path: '/create', body: {} });
    expect(res).toEqual({ status: 201, body: { port: 20000 } });
  });

  test('a plain-text gateway error that persists becomes UPSTREAM_ERROR naming the function', async () => {
    nock(GATEWAY).post('/function/ingress-rule/create').times(3).reply(502, 'bad gateway');
    const err = await rejectionOf(client().call({ function: 'ingress-rule', path: '/create', body: {} }));
    expect([err.status, err.toJSON()]).toEqual([
      502,
      {
        error: {
          code: 'UPSTREAM_ERROR',
          message: 'function ingress-rule/create answered 502',
          details: { function: 'ingress-rule', path: '/create', status: 502, body: 'bad gateway' },
        },
      },
    ]);
  });

  test('a sibling that does not answer in time fails with TIMEOUT', async () => {
    const server = await hangingServer();
    const started = Date.now();
    const err = await rejectionOf(client({ gatewayUrl: server.url }).call({ function: 'helm', path: '/install', body: {}, timeoutMs: 100 }));
    await server.close();
    expect([err.status, err.toJSON()]).toEqual([
      504,
      { error: { code: 'TIMEOUT', message: 'function helm/install did not answer within 100ms', details: { function: 'helm', path: '/install', timeoutMs: 100 } } },
    ]);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  test('the gateway upstream timeout (504, plain text) is TIMEOUT, not retried', async () => {
    nock(GATEWAY).post('/function/helm/install').once().reply(504, 'upstream timeout');
    const err = await rejectionOf(client().call({ function: 'helm', path: '/install', body: {} }));
    expect([err.status, err.code]).toEqual([504, 'TIMEOUT']);
  });

  test('a cancelled request cancels the call with CANCELLED', async () => {
    const server = await hangingServer();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const err = await rejectionOf(client({ gatewayUrl: server.url, signal: controller.signal }).call({ function: 'helm', path: '/install', body: {} }));
    await server.close();
    expect([err.status, err.code]).toEqual([503, 'CANCELLED']);
  });

  test('a detached call ignores the cancelled request', async () => {
    nock(GATEWAY).post('/function/helm/uninstall').reply(200, { uninstalled: true });
    const controller = new AbortController();
    controller.abort();
    const res = await client({ signal: controller.signal }).call({ function: 'helm', path: '/uninstall', body: {}, detached: true });
    expect(res.body).toEqual({ uninstalled: true });
  });

  test('a 2xx body that is not JSON is an UPSTREAM_ERROR', async () => {
    nock(GATEWAY).post('/function/helm/install').reply(200, '<html>');
    const err = await rejectionOf(client().call({ function: 'helm', path: '/install', body: {} }));
    expect([err.status, err.code]).toEqual([502, 'UPSTREAM_ERROR']);
  });

  test('connection failures are retried, then reported as UPSTREAM_ERROR', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const err = await rejectionOf(createSiblingClient({ gatewayUrl: `http://127.0.0.1:${port}`, retry: fast }).call({ function: 'helm', path: '/install', body: {} }));
    expect([err.status, err.toJSON()]).toEqual([
      502,
      {
        error: {
          code: 'UPSTREAM_ERROR',
          message: 'function helm/install could not be reached',
          details: { function: 'helm', path: '/install', connection: true, cause: 'ECONNREFUSED' },
        },
      },
    ]);
  });
});
