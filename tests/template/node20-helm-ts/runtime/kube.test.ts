// withRetry against a real HTTP server scripted per test: client-node 2.x sends through undici's
// fetch with its own dispatcher, which nock cannot intercept, so a listening server is used.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { isConflict, isAlreadyExists, isNotFound, kubeStatus, loadKubeConfig, makeCoreV1Api, withRetry } from '#runtime/kube.js';
import { rejectionOf } from './function-error.js';

type Reply = (req: IncomingMessage, res: ServerResponse) => void;
let script: Reply[] = [];
let hits: string[] = [];
let url = '';
const server = createServer((req, res) => {
  hits.push(`${req.method} ${req.url}`);
  const reply = script.shift() ?? ((_, r: ServerResponse) => json(r, 500, status(500, 'InternalError', 'no script')));
  reply(req, res);
});

function json(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(code, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}
const status = (code: number, reason: string, message: string) => ({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message });
const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'ns', resourceVersion: '7' }, data: { a: 'b' } };
const ok: Reply = (_, res) => json(res, 200, configMap);
const fail = (code: number, reason: string, headers?: Record<string, string>): Reply => (_, res) =>
  json(res, code, status(code, reason, `${reason} happened`), headers);
let abandoned = 0;
/** Never answers; counts requests the client gave up on (the socket closes when fetch is aborted). */
const hang: Reply = (_, res) => res.on('close', () => abandoned++);

function kubeconfigFor(server: string, name = 'c'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kube-test-'));
  const file = path.join(dir, 'config');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: ${name}, cluster: {server: "${server}"}}]`,
      `users: [{name: ${name}, user: {token: t}}]`,
      `contexts: [{name: ${name}, context: {cluster: ${name}, user: ${name}}}]`,
      `current-context: ${name}`,
    ].join('\n'),
  );
  return file;
}

let api: ReturnType<typeof makeCoreV1Api>;
const read = () =>
  withRetry(({ options }) => api.readNamespacedConfigMap({ namespace: 'ns', name: 'cm' }, options), {
    operation: 'read ConfigMap ns/cm',
    baseDelayMs: 1,
    maxDelayMs: 5,
    timeoutMs: 300,
  });

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  api = makeCoreV1Api({ kubeconfig: kubeconfigFor(url) });
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  script = [];
  hits = [];
  abandoned = 0;
});

const until = (check: () => boolean) => vi.waitUntil(check, { timeout: 2000, interval: 10 });

describe('loadKubeConfig', () => {
  test('reads config.kubeconfig, merging several files like $KUBECONFIG', () => {
    const first = kubeconfigFor('http://127.0.0.1:1');
    const kc = loadKubeConfig({ kubeconfig: [first, kubeconfigFor('http://127.0.0.1:2', 'other')].join(path.delimiter) });
    expect(kc.getCurrentCluster()?.server).toBe('http://127.0.0.1:1');
    expect(kc.getCurrentUser()?.token).toBe('t');
  });
});

describe('withRetry', () => {
  test('returns the object on success with one request', async () => {
    script = [ok];
    expect((await read()).data).toEqual({ a: 'b' });
    expect(hits).toEqual(['GET /api/v1/namespaces/ns/configmaps/cm']);
  });

  test('retries 500, 502, 503, 504 and 429 until success', async () => {
    script = [fail(500, 'InternalError'), fail(502, 'BadGateway'), fail(503, 'ServiceUnavailable'), fail(504, 'Timeout'), ok];
    expect((await read()).metadata?.resourceVersion).toBe('7');
    expect(hits).toHaveLength(5);
  });

  test('honours Retry-After on 429', async () => {
    script = [fail(429, 'TooManyRequests', { 'retry-after': '0.2' }), ok];
    const started = Date.now();
    await read();
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(hits).toHaveLength(2);
  });

  test('gives up after the attempts with KUBE_API_ERROR carrying status, reason and message', async () => {
    script = Array.from({ length: 5 }, () => fail(500, 'InternalError'));
    const err = await rejectionOf(read());
    expect(err.toJSON()).toEqual({
      error: {
        code: 'KUBE_API_ERROR',
        message: 'Kubernetes API answered 500 InternalError (read ConfigMap ns/cm): InternalError happened; gave up after 5 attempts',
        details: { operation: 'read ConfigMap ns/cm', status: 500, reason: 'InternalError', attempts: 5 },
      },
    });
    expect(err.status).toBe(502);
    expect(hits).toHaveLength(5);
  });

  test('never retries 4xx other than 429; 404 and both kinds of 409 stay recognisable', async () => {
    script = [fail(404, 'NotFound')];
    const notFound = await rejectionOf(read());
    expect([isNotFound(notFound), kubeStatus(notFound), hits.length]).toEqual([true, 404, 1]);

    script = [fail(409, 'Conflict')];
    const conflict = await rejectionOf(read());
    expect([isConflict(conflict), isAlreadyExists(conflict)]).toEqual([true, false]);

    script = [fail(409, 'AlreadyExists')];
    const exists = await rejectionOf(read());
    expect([isConflict(exists), isAlreadyExists(exists)]).toEqual([false, true]);

    script = [fail(403, 'Forbidden'), ok];
    const forbidden = await rejectionOf(read());
    expect(forbidden.details).toEqual({ operation: 'read ConfigMap ns/cm', status: 403, reason: 'Forbidden', attempts: 1 });
    expect(hits).toHaveLength(4);
  });

  test('a hung server fails each attempt at the timeout and the call ends, not hangs', async () => {
    script = [hang, hang, ok];
    expect((await read()).data).toEqual({ a: 'b' });

    script = Array.from({ length: 5 }, () => hang);
    const started = Date.now();
    const err = await rejectionOf(read());
    expect(Date.now() - started).toBeLessThan(5 * 300 + 1000);
    expect(err.toJSON()).toEqual({
      error: {
        code: 'KUBE_API_ERROR',
        message: 'Kubernetes API did not answer within 300 ms (read ConfigMap ns/cm); gave up after 5 attempt(s)',
        details: { operation: 'read ConfigMap ns/cm', reason: 'Timeout', attempts: 5, timeoutMs: 300 },
      },
    });
    // The timed-out requests were aborted, not left open.
    await until(() => abandoned === 7);
  });

  test('retries connection errors and reports the server unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const dead = makeCoreV1Api({ kubeconfig: kubeconfigFor(`http://127.0.0.1:${port}`) });
    const err = await rejectionOf(
      withRetry(({ options }) => dead.readNamespacedConfigMap({ namespace: 'ns', name: 'cm' }, options), {
        operation: 'read ConfigMap ns/cm',
        attempts: 3,
        baseDelayMs: 1,
      }),
    );
    expect(err.code).toBe('KUBE_API_ERROR');
    expect(err.message).toMatch(/^Kubernetes API unreachable \(read ConfigMap ns\/cm\): .*ECONNREFUSED.*; gave up after 3 attempt\(s\)$/);
    expect(err.details).toEqual({ operation: 'read ConfigMap ns/cm', reason: 'Unreachable', attempts: 3 });
  });

  test('a cancelled call stops without further attempts', async () => {
    script = [fail(503, 'ServiceUnavailable', { 'retry-after': '5' }), ok];
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const err = await rejectionOf(
      withRetry(({ options }) => api.readNamespacedConfigMap({ namespace: 'ns', name: 'cm' }, options), { signal: controller.signal }),
    );
    expect(err.code).toBe('CANCELLED');
    expect(hits).toHaveLength(1);
  });
});
