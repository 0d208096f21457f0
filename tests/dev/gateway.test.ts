// The dev gateway's routing, auth, call ids, per-function environment and async calls, with small
// handlers written by the test.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { listFunctions, startGateway, type Gateway } from '../../dev/gateway.js';
import { setupAuthToken, type AuthToken } from '../../dev/token.js';
import { callbackReceiver } from './e2e-helpers.js';

let dir: string;
let gateway: Gateway;
let auth: AuthToken;

const ECHO = `
let calls = 0;
export default async function handler(req, ctx) {
  calls++;
  if (req.path === '/calls') return { body: { calls } };
  if (req.path === '/slow') await new Promise((r) => setTimeout(r, 100));
  if (req.path === '/fail') return { status: 418, body: { error: { code: 'TEAPOT', message: 'short and stout' } } };
  return {
    status: 200,
    body: {
      method: req.method,
      path: req.path,
      query: Object.fromEntries(req.query),
      body: req.body,
      callId: ctx.callId,
      gatewayUrl: ctx.config.gatewayUrl,
      loadBalancerNamespace: ctx.config.loadBalancerNamespace,
    },
  };
}
`;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gateway-test-'));
  for (const name of ['echo', 'other']) {
    mkdirSync(path.join(dir, name));
    writeFileSync(path.join(dir, name, 'handler.ts'), ECHO);
  }
  mkdirSync(path.join(dir, 'not-a-function'));
  auth = setupAuthToken();
  gateway = await startGateway({
    functionsDir: dir,
    env: { ...auth.env, LOG_LEVEL: 'silent' },
    functionEnv: { other: { LoadBalancerNamespace: 'lb-other' } },
  });
});

afterAll(async () => {
  await gateway?.close();
  auth?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const call = (p: string, init: RequestInit = {}) =>
  fetch(`${gateway.url}${p}`, { ...init, headers: { authorization: `Bearer ${auth.token}`, ...(init.headers as Record<string, string>) } });

describe('dev gateway', () => {
  test('serves every folder with a handler.ts', () => {
    expect(listFunctions(dir)).toEqual(['echo', 'other']);
    expect(gateway.functions).toEqual(['echo', 'other']);
  });

  test('strips /function/<name>: the function sees the sub path and query, and its own config', async () => {
    const res = await call('/function/echo/install/now?x=1&y=two', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-call-id': 'call-42' },
      body: JSON.stringify({ a: 1 }),
    });
    expect([res.status, res.headers.get('x-call-id'), res.headers.get('content-type')]).toEqual([200, 'call-42', 'application/json']);
    expect(await res.json()).toEqual({
      method: 'POST',
      path: '/install/now',
      query: { x: '1', y: 'two' },
      body: { a: 1 },
      callId: 'call-42',
      gatewayUrl: gateway.url,
      loadBalancerNamespace: 'ingress-nginx',
    });
    const bare = await (await call('/function/other')).json();
    expect([bare.path, bare.loadBalancerNamespace]).toEqual(['/', 'lb-other']);
  });

  test('the runtime authenticates every call; /healthz needs no token', async () => {
    const res = await fetch(`${gateway.url}/function/echo`, { method: 'POST' });
    expect([res.status, await res.json()]).toEqual([401, { error: { code: 'UNAUTHORIZED', message: 'Unauthorized' } }]);
    const health = await fetch(`${gateway.url}/healthz`);
    expect([health.status, await health.json()]).toEqual([200, { status: 'ok', functions: ['echo', 'other'] }]);
  });

  test('unknown functions and routes answer 404', async () => {
    const res = await call('/function/nope/x');
    expect([res.status, await res.json()]).toEqual([404, { error: { code: 'NOT_FOUND', message: 'No such function: nope' } }]);
    expect((await call('/async-function/nope', { method: 'POST' })).status).toBe(404);
    expect((await call('/other')).status).toBe(404);
  });

  test('async without a callback: 202 at once, the call still runs', async () => {
    const before = (await (await call('/function/echo/calls')).json()).calls;
    const res = await call('/async-function/echo/slow', { method: 'POST', body: '{}' });
    expect(res.status).toBe(202);
    expect(res.headers.get('x-call-id')).toMatch(/^[0-9a-f-]{36}$/);
    for (let i = 0; i < 100 && gateway.pendingAsync() > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(gateway.pendingAsync()).toBe(0);
    // +1 for the async call, +1 for this read.
    expect((await (await call('/function/echo/calls')).json()).calls).toBe(before + 2);
  });

  test('async with a callback: the result, its status and the sub path reach X-Callback-Url', async () => {
    const receiver = await callbackReceiver();
    try {
      const res = await call('/async-function/other/fail', { method: 'POST', headers: { 'x-callback-url': `${receiver.url}/cb?id=7`, 'x-call-id': 'async-1' } });
      expect(res.status).toBe(202);
      const cb = await receiver.received;
      expect(cb.path).toBe('/cb?id=7');
      expect(cb.headers).toMatchObject({ 'x-call-id': 'async-1', 'x-function-status-code': '418', 'x-function-name': 'other', 'content-type': 'application/json' });
      expect(JSON.parse(cb.body)).toEqual({ error: { code: 'TEAPOT', message: 'short and stout' } });
    } finally {
      receiver.close();
    }
  });
});
