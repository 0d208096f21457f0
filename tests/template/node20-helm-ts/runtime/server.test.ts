import http from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { signBody } from '#runtime/auth.js';
import { loadConfig, type RuntimeConfig } from '#runtime/config.js';
import { FunctionError } from '#runtime/errors.js';
import { createRequestListener, startFunctionServer, type FunctionServer } from '#runtime/server.js';
import type { FunctionContext, FunctionHandler } from '#runtime/types.js';
import { captureLogs } from '../log-capture.js';

const TOKEN = 'test-token-0123456789';
const UNAUTHORIZED = '{"error":{"code":"UNAUTHORIZED","message":"Unauthorized"}}';
const MiB = 1024 * 1024;

let dir: string;
let config: RuntimeConfig;
let fs: FunctionServer;
let calls: number;
let logs: ReturnType<typeof captureLogs>;
const waiting: { ctx: FunctionContext; release: () => void }[] = [];

const handler: FunctionHandler = async (req, ctx) => {
  calls++;
  switch (req.path) {
    case '/echo':
      return {
        body: {
          method: req.method,
          path: req.path,
          query: Object.fromEntries(req.query),
          body: req.body,
          bodyIsUndefined: req.body === undefined,
          callId: ctx.callId,
          contentType: req.headers['content-type'] ?? null,
        },
      };
    case '/created':
      return { status: 201, headers: { 'x-extra': 'yes', 'Content-Type': 'text/html', 'x-call-id': 'forged' }, body: { ok: true } };
    case '/nothing':
      return {};
    case '/no-content':
      return { status: 204 };
    case '/exists':
      throw new FunctionError('RELEASE_EXISTS', 'Release web already exists', { releaseName: 'web' });
    case '/helm':
      throw new FunctionError('HELM_FAILED', 'helm failed', { exitCode: 1 });
    case '/boom':
      throw new Error('database password=hunter2 leaked');
    case '/bad-status':
      return { status: 42, body: {} };
    case '/bigint':
      return { body: { n: 10n } };
    case '/log':
      ctx.log.info(
        { headers: req.headers, request: { values: { adminPassword: 'v-secret' }, repo: { password: 'repo-pw' } }, token: 't-secret' },
        'logging a call',
      );
      return { body: { logged: true } };
    case '/wait':
      await new Promise<void>((release) => {
        waiting.push({ ctx, release });
        ctx.signal.addEventListener('abort', () => release());
      });
      return { status: 200, body: { aborted: ctx.signal.aborted, reason: String((ctx.signal.reason as Error)?.message) } };
    default:
      throw new FunctionError('NOT_FOUND');
  }
};

const until = (check: () => boolean) => vi.waitUntil(check, { timeout: 5000, interval: 5 });

const auth = { authorization: `Bearer ${TOKEN}` };
const call = (p: string, init: RequestInit = {}) => fetch(`${fs.url}${p}`, init);

/** An authenticated GET whose request target is sent verbatim (fetch would normalise it). */
function getVerbatim(target: string): Promise<{ status: number; body: string }> {
  const { port } = new URL(fs.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: target, headers: auth }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'runtime-server-'));
  await writeFile(path.join(dir, 'fn-token'), `${TOKEN}\n`);
  config = { ...loadConfig({}), secretsDir: dir, authSecretName: 'fn-token', maxBodyBytes: MiB };
  logs = captureLogs();
  fs = await startFunctionServer({ handler, functionName: 'test-fn', config, logger: logs.logger, port: 0 });
});

afterAll(async () => {
  await fs?.close({ graceMs: 0, forceMs: 0 });
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  calls = 0;
});

describe('health', () => {
  test('answers without a token', async () => {
    const res = await call('/_/health');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ status: 'ok' });
    expect(calls).toBe(0);
  });
});

describe('auth', () => {
  test.each([
    ['no header', {}],
    ['a wrong token', { authorization: 'Bearer wrong-token' }],
    ['a token prefix', { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
    ['another scheme', { authorization: `Basic ${TOKEN}` }],
    ['a bare token', { authorization: TOKEN }],
    ['a wrong signature', { 'x-hub-signature-256': signBody('{}', 'other-secret') }],
  ])('refuses %s with the same body and never runs the handler', async (_name, headers) => {
    const res = await call('/echo', { method: 'POST', headers, body: '{}' });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.text()).toBe(UNAUTHORIZED);
    expect(calls).toBe(0);
  });

  test('logs why a call was refused only at debug level', async () => {
    const callId = 'refused-call-1';
    await call('/echo', { headers: { authorization: 'Bearer nope', 'x-call-id': callId } });
    const mine = logs.lines().filter((l) => l.reqId === callId);
    expect(mine.find((l) => l.msg === 'unauthorized')).toMatchObject({ level: 20, reason: 'token mismatch' });
    expect(mine.find((l) => l.msg === 'call completed')).toMatchObject({ level: 30, status: 401, code: 'UNAUTHORIZED' });
  });

  test('accepts the bearer token', async () => {
    const res = await call('/echo', { method: 'POST', headers: auth, body: '{"a":1}' });
    expect(res.status).toBe(200);
    expect(calls).toBe(1);
  });

  test('accepts an HMAC signature of the raw body', async () => {
    const body = '{"signed": true}';
    const res = await call('/echo', { method: 'POST', headers: { 'x-hub-signature-256': signBody(body, TOKEN) }, body });
    expect(res.status).toBe(200);
    expect((await res.json()).body).toEqual({ signed: true });
  });
});

describe('requests', () => {
  test('passes method, path, query and the JSON body whatever the content type', async () => {
    const res = await call('/echo?x=1&y=two', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/plain', 'x-call-id': 'call-42' },
      body: '{"name":"web","n":[1,2]}',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('x-call-id')).toBe('call-42');
    expect(await res.json()).toEqual({
      method: 'POST',
      path: '/echo',
      query: { x: '1', y: 'two' },
      body: { name: 'web', n: [1, 2] },
      bodyIsUndefined: false,
      callId: 'call-42',
      contentType: 'text/plain',
    });
  });

  test.each([
    ['no body', undefined],
    ['a blank body', ' \n'],
  ])('gives the handler an undefined body for %s', async (_name, body) => {
    const res = await call('/echo', { method: body === undefined ? 'GET' : 'POST', headers: auth, body });
    expect((await res.json()).bodyIsUndefined).toBe(true);
  });

  test('generates a call id when none (or an unusable one) is sent', async () => {
    for (const headers of [auth, { ...auth, 'x-call-id': 'has spaces and ; semicolons' }]) {
      const res = await call('/echo', { headers });
      const id = res.headers.get('x-call-id');
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect((await res.json()).callId).toBe(id);
    }
  });

  test('answers 400 INVALID_INPUT to a body that is not JSON', async () => {
    const res = await call('/echo', { method: 'POST', headers: auth, body: 'name=web' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: 'INVALID_INPUT', message: 'The request body is not valid JSON' } });
    expect(calls).toBe(0);
  });

  test('answers 415 to a compressed body', async () => {
    const res = await call('/echo', { method: 'POST', headers: { ...auth, 'content-encoding': 'gzip' }, body: 'x' });
    expect(res.status).toBe(415);
    expect((await res.json()).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('body size limit', () => {
  const tooLarge = {
    error: { code: 'PAYLOAD_TOO_LARGE', message: 'Request body too large', details: { limitBytes: MiB } },
  };

  test('answers 413 to a 2 MiB body announced by Content-Length', async () => {
    const res = await call('/echo', { method: 'POST', headers: auth, body: Buffer.alloc(2 * MiB, 0x20) });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual(tooLarge);
    expect(calls).toBe(0);
  });

  test('answers 413 to a chunked body once it passes the limit', async () => {
    const body = new Blob([Buffer.alloc(2 * MiB, 0x20)]).stream();
    const res = await call('/echo', { method: 'POST', headers: auth, body, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual(tooLarge);
    expect(calls).toBe(0);
  });

  test('accepts a body of exactly the limit', async () => {
    const json = `"${'a'.repeat(MiB - 2)}"`;
    const res = await call('/echo', { method: 'POST', headers: auth, body: json });
    expect(res.status).toBe(200);
    expect((await res.json()).body).toHaveLength(MiB - 2);
  });
});

describe('responses', () => {
  test('keeps the status and extra headers of the handler but not content type or call id', async () => {
    const res = await call('/created', { headers: { ...auth, 'x-call-id': 'mine' } });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('x-extra')).toBe('yes');
    expect(res.headers.get('x-call-id')).toBe('mine');
    expect(await res.json()).toEqual({ ok: true });
  });

  test('sends {} when the handler returns no body, and nothing for 204', async () => {
    const res = await call('/nothing', { headers: auth });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{}');
    const empty = await call('/no-content', { headers: auth });
    expect(empty.status).toBe(204);
    expect(await empty.text()).toBe('');
  });

  test('maps a FunctionError to its status and body', async () => {
    const res = await call('/exists', { headers: auth });
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({
      error: { code: 'RELEASE_EXISTS', message: 'Release web already exists', details: { releaseName: 'web' } },
    });
  });

  test('answers 404 NOT_FOUND for paths the handler does not know', async () => {
    const res = await call('/nope', { headers: auth });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'No such route' } });
  });

  test('hides the message of an unknown error and logs it at error level', async () => {
    const res = await call('/boom', { headers: { ...auth, 'x-call-id': 'boom-1' } });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).toBe('{"error":{"code":"INTERNAL","message":"Internal error"}}');
    const failed = logs.lines().find((l) => l.reqId === 'boom-1' && l.msg === 'call failed');
    expect(failed).toMatchObject({ level: 50, code: 'INTERNAL', err: { message: 'database password=hunter2 leaked' } });
  });

  test('logs 5xx FunctionErrors at error level and 4xx at info only', async () => {
    await call('/helm', { headers: { ...auth, 'x-call-id': 'helm-1' } });
    await call('/exists', { headers: { ...auth, 'x-call-id': 'exists-1' } });
    const levels = (id: string) => logs.lines().filter((l) => l.reqId === id).map((l) => [l.level, l.msg, l.status ?? null]);
    expect(levels('helm-1')).toEqual([
      [50, 'call failed', null],
      [30, 'call completed', 500],
    ]);
    expect(levels('exists-1')).toEqual([[30, 'call completed', 409]]);
  });

  test.each(['/bad-status', '/bigint'])('answers 500 INTERNAL when %s cannot be sent', async (p) => {
    const res = await call(p, { headers: auth });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: { code: 'INTERNAL', message: 'Internal error' } });
  });
});

describe('logging', () => {
  test('tags every line of a call with its call id and redacts secrets', async () => {
    const res = await call('/log', { headers: { ...auth, 'x-call-id': 'log-1', cookie: 'session=c-secret' } });
    expect(res.status).toBe(200);
    const mine = logs.lines().filter((l) => l.msg === 'logging a call');
    expect(mine).toHaveLength(1);
    const line = mine[0];
    expect(line.reqId).toBe('log-1');
    expect(line.fn).toBe('test-fn');
    expect(line.token).toBe('[REDACTED]');
    expect(line.headers).toMatchObject({ authorization: '[REDACTED]', cookie: '[REDACTED]', 'x-call-id': 'log-1' });
    expect(line.request).toEqual({ values: '[REDACTED]', repo: { password: '[REDACTED]' } });
    for (const secret of [TOKEN, 'v-secret', 'repo-pw', 't-secret', 'c-secret']) expect(logs.raw()).not.toContain(secret);
  });
});

describe('cancellation', () => {
  test('aborts ctx.signal when the client goes away', async () => {
    waiting.length = 0;
    const client = new AbortController();
    const pending = call('/wait', { headers: auth, signal: client.signal }).catch((err: Error) => err);
    await until(() => waiting.length === 1);
    expect(waiting[0].ctx.signal.aborted).toBe(false);
    client.abort();
    await until(() => waiting[0].ctx.signal.aborted);
    expect((waiting[0].ctx.signal.reason as Error).message).toBe('client disconnected');
    expect(await pending).toBeInstanceOf(Error);
  });
});

describe('shutdown', () => {
  test('lets a call finish within the grace period and refuses new connections', async () => {
    const logs2 = captureLogs();
    const server = await startFunctionServer({ handler, functionName: 'fn', config, logger: logs2.logger, port: 0 });
    waiting.length = 0;
    const pending = fetch(`${server.url}/wait`, { headers: auth });
    await until(() => waiting.length === 1);
    const closed = server.close({ graceMs: 10_000, forceMs: 1000 });
    await until(() => !server.server.listening);
    await expect(fetch(`${server.url}/_/health`)).rejects.toThrow();
    waiting[0].release();
    const res = await pending;
    expect(await res.json()).toEqual({ aborted: false, reason: 'undefined' });
    await closed;
  });

  test('aborts calls still running when the grace period is over', async () => {
    const logs2 = captureLogs();
    const server = await startFunctionServer({ handler, functionName: 'fn', config, logger: logs2.logger, port: 0 });
    waiting.length = 0;
    const pending = fetch(`${server.url}/wait`, { headers: auth });
    await until(() => waiting.length === 1);
    await server.close({ graceMs: 20, forceMs: 5000 });
    const res = await pending;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ aborted: true, reason: 'runtime shutting down' });
    expect(logs2.lines().find((l) => l.msg === 'grace period over: cancelling calls in progress')).toMatchObject({ level: 40, inflight: 1 });
  });
});

describe('auth configuration', () => {
  test('accepts every call when auth is disabled', async () => {
    const server = await startFunctionServer({
      handler,
      functionName: 'fn',
      config: { ...config, authSecretName: '' },
      logger: captureLogs().logger,
      port: 0,
    });
    try {
      const res = await fetch(`${server.url}/echo?open=1`);
      expect(res.status).toBe(200);
      expect((await res.json()).query).toEqual({ open: '1' });
    } finally {
      await server.close();
    }
  });

  test('refuses every call when the secret file is missing, logging the error once', async () => {
    const logs2 = captureLogs();
    const server = await startFunctionServer({
      handler,
      functionName: 'fn',
      config: { ...config, authSecretName: 'missing-secret' },
      logger: logs2.logger,
      port: 0,
    });
    try {
      for (const headers of [auth, { authorization: 'Bearer ' }, {}]) {
        const res = await fetch(`${server.url}/echo`, { headers });
        expect(res.status).toBe(401);
        expect(await res.text()).toBe(UNAUTHORIZED);
      }
      const errors = logs2.lines().filter((l) => l.level === 50);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ msg: 'auth secret unavailable: every call is refused', reason: 'secret file unreadable: ENOENT' });
      expect(calls).toBe(0);
    } finally {
      await server.close();
    }
  });
});

describe('createRequestListener behind a gateway', () => {
  test('serves /function/<name>/... once the gateway strips the prefix from req.url', async () => {
    const listener = createRequestListener({ handler, functionName: 'echo-fn', config, logger: captureLogs().logger });
    const gateway = http.createServer((req, res) => {
      const m = /^\/function\/([^/?]+)(.*)$/.exec(req.url ?? '');
      if (!m || m[1] !== 'echo-fn') {
        res.writeHead(404).end();
        return;
      }
      req.url = m[2] || '/';
      listener(req, res);
    });
    await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
    try {
      const res = await fetch(`${base}/function/echo-fn/echo?a=b`, { method: 'POST', headers: auth, body: '[1]' });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ path: '/echo', query: { a: 'b' }, body: [1] });
      const root = await fetch(`${base}/function/echo-fn?q=1`, { headers: auth });
      expect(root.status).toBe(404);
      const health = await fetch(`${base}/function/echo-fn/_/health`);
      expect(await health.json()).toEqual({ status: 'ok' });
    } finally {
      await new Promise((r) => gateway.close(r));
    }
  });

  test('normalises repeated leading slashes and dot segments in the path', async () => {
    const { status, body } = await getVerbatim('//evil.test/../echo?z=1');
    expect(status).toBe(200);
    expect(JSON.parse(body)).toMatchObject({ path: '/echo', query: { z: '1' } });
  });
});

describe('request targets', () => {
  test('answers 400 to an absolute-form target that cannot be parsed', async () => {
    const { status, body } = await getVerbatim('http://[bad/echo');
    expect(status).toBe(400);
    expect(JSON.parse(body)).toEqual({ error: { code: 'INVALID_INPUT', message: 'The request target is invalid' } });
    expect(calls).toBe(0);
  });
});
