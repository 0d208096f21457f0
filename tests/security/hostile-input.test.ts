// Hostile input over real HTTP: a seeded corpus (tests/security/corpus.ts) of malformed, injected,
// oversized and forbidden requests sent to every route of every function through the dev gateway,
// with auth on and the right token so that each one reaches validation. Every request must be
// refused with a 4xx JSON error from the catalogue, before any helm process starts and without any
// write to the Kubernetes API. The same routes without a valid token answer one identical 401.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { signBody } from '#runtime/auth.js';
import { ERRORS, type ErrorCode } from '#runtime/errors.js';
import { helmSpawnCount } from '#runtime/helm/run.js';
import { startCluster, type Cluster } from '../../dev/cluster/index.js';
import { startGateway, type Gateway } from '../../dev/gateway.js';
import { INGRESS_DEFAULTS, ingressControllerObjects } from '../../dev/ingress-fixture.js';
import { setupAuthToken, type AuthToken } from '../../dev/token.js';
import { snapshot, writeRequests } from './cluster-snapshot.js';
import { AUTH_SECRET_NAME, allRoutes, baseRequests, buildCorpus, STRICT_POLICY, type HostileCase } from './corpus.js';
import { createRawClient, mapPool, type RawReply, type RawRequest } from './http-client.js';

const SEED = 0x5eed;
const RANDOM_PER_ROUTE = 40;
const CONCURRENCY = 16;

let cluster: Cluster;
let strict: Gateway;
let open: Gateway;
let auth: AuthToken;
let lbip: string;
let scratch: string;
const client = createRawClient({ maxSockets: CONCURRENCY });

const namespace = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
const service = (ns: string, name: string, port: number, protocol = 'TCP') => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: ns },
  spec: { selector: { app: name }, ports: [{ port, protocol }] },
});

// The ingress controller with two rules already in place: one of a tenant, one of kube-system.
function ingressWithRules(): object[] {
  const rules: Record<string, string> = { '30000': 'tenant-a/db:5432', '30001': 'kube-system/kube-dns:53' };
  return ingressControllerObjects().map((o) => {
    const object = structuredClone(o) as { kind: string; metadata: { name: string }; data?: object; spec?: { ports: object[] } };
    if (object.kind === 'ConfigMap' && object.metadata.name === INGRESS_DEFAULTS.tcpConfigMap) object.data = rules;
    if (object.kind === 'Service') {
      object.spec!.ports.push(...Object.keys(rules).map((p) => ({ name: `tcp-${p}`, port: Number(p), targetPort: Number(p), protocol: 'TCP' })));
    }
    return object;
  });
}

beforeAll(async () => {
  auth = setupAuthToken({ secretName: AUTH_SECRET_NAME });
  scratch = mkdtempSync(path.join(os.tmpdir(), 'hostile-input-'));
  cluster = await startCluster({
    seed: [
      ...ingressWithRules(),
      namespace('tenant-a'),
      namespace('tenant-b'),
      service('tenant-a', 'db', 5432),
      service('tenant-a', 'web', 8080),
      service('kube-system', 'kube-dns', 53),
    ],
  });
  const controller = cluster.store.get({ resource: 'services', namespace: INGRESS_DEFAULTS.namespace, name: INGRESS_DEFAULTS.serviceName }) as unknown as {
    status: { loadBalancer: { ingress: { ip: string }[] } };
  };
  lbip = controller.status.loadBalancer.ingress[0].ip;
  const env = {
    ...auth.env,
    PATH: process.env.PATH,
    LOG_LEVEL: 'silent',
    KUBECONFIG: cluster.kubeconfigPath,
    // A request that slips through fails fast and harmlessly, and is still counted as a spawn.
    HELM_BINARY: path.join(scratch, 'no-helm-here'),
    HELM_TIMEOUT_SECONDS: '30',
  };
  [strict, open] = await Promise.all([
    startGateway({ env: { ...env, ...STRICT_POLICY } }),
    startGateway({ functions: ['helm'], env: { ...env, ALLOW_PRIVATE_REPO_HOSTS: 'false' } }),
  ]);
});

afterAll(async () => {
  client.close();
  await Promise.all([strict?.close(), open?.close()]);
  await cluster?.stop();
  auth?.cleanup();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function toRaw(c: HostileCase, headers: Record<string, string> = { authorization: `Bearer ${auth.token}` }): RawRequest {
  const gateway = c.policy === 'open' ? open : strict;
  const query = c.query ? `?${new URLSearchParams(c.query)}` : '';
  return {
    method: c.method,
    url: `${gateway.url}/function/${c.fn}${c.path === '/' ? '' : c.path}${query}`,
    headers: { ...(c.body ? { 'content-type': 'application/json' } : {}), ...headers, ...c.headers },
    body: c.body,
    chunked: c.chunked,
  };
}

/** What is wrong with the answer to a hostile request, or undefined. */
function problemOf(c: HostileCase, reply: RawReply): string | undefined {
  const issues: string[] = [];
  if (reply.status < 400 || reply.status > 499) issues.push(`status ${reply.status}`);
  if (!String(reply.headers['content-type']).startsWith('application/json')) issues.push(`content-type ${reply.headers['content-type']}`);
  let body: { error?: { code?: unknown; message?: unknown } } | undefined;
  try {
    body = JSON.parse(reply.text);
  } catch {
    issues.push('body is not JSON');
  }
  const error = body?.error;
  const code = error?.code as ErrorCode | undefined;
  if (!body || Object.keys(body).join() !== 'error' || typeof error !== 'object' || error === null) issues.push('body is not {error}');
  else {
    if (typeof code !== 'string' || !Object.hasOwn(ERRORS, code)) issues.push(`code ${String(code)} is not in the catalogue`);
    else if (ERRORS[code].status !== reply.status) issues.push(`status ${reply.status} is not that of ${code}`);
    if (typeof error.message !== 'string' || error.message === '') issues.push('no message');
    if (Object.keys(error).some((k) => !['code', 'message', 'details'].includes(k))) issues.push('extra keys in error');
    if (code && !c.expect.includes(code)) issues.push(`code ${code}, expected ${c.expect.join('|')}`);
  }
  if (issues.length === 0) return undefined;
  return `${c.label} ${c.defect} -> ${reply.status} ${reply.text.slice(0, 300)} [${issues.join('; ')}]`;
}

function count<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

describe('hostile input', () => {
  test('every request of the corpus is refused with a catalogued 4xx, before helm runs or anything is written', async () => {
    const corpus = buildCorpus({ lbip, seed: SEED, randomPerRoute: RANDOM_PER_ROUTE });
    expect(corpus.length).toBeGreaterThanOrEqual(1000);
    // Every function is reached, each through every one of its routes.
    expect(new Set(corpus.map((c) => c.route))).toEqual(new Set(allRoutes({ lbip }).map((r) => `${r.fn} ${r.path}`)));

    const before = snapshot(cluster);
    const spawnsBefore = helmSpawnCount();
    cluster.requests.reset();
    const started = performance.now();
    const replies = await mapPool(corpus, CONCURRENCY, (c) => client.send(toRaw(c)));
    const elapsedMs = Math.round(performance.now() - started);

    const codeOf = (r: RawReply) => {
      try {
        return String(JSON.parse(r.text).error.code);
      } catch {
        return '(none)';
      }
    };
    console.log(
      `hostile input: ${corpus.length} requests in ${elapsedMs} ms (seed ${SEED})\n` +
        `  per function:   ${JSON.stringify(count(corpus, (c) => c.label))}\n` +
        `  per status:     ${JSON.stringify(count(replies, (r) => String(r.status)))}\n` +
        `  per error code: ${JSON.stringify(count(replies, codeOf))}\n` +
        `  helm spawns: ${helmSpawnCount() - spawnsBefore}, Kubernetes requests: ${cluster.requests.entries.length}, writes: ${writeRequests(cluster).length}`,
    );

    const problems = corpus.map((c, i) => problemOf(c, replies[i])).filter((p): p is string => p !== undefined);
    // Soft: one run reports every kind of failure at once.
    expect.soft(problems).toEqual([]);
    expect.soft(helmSpawnCount() - spawnsBefore).toBe(0);
    expect.soft(writeRequests(cluster)).toEqual([]);
    expect.soft(snapshot(cluster)).toEqual(before);
  });

  test('every route without a valid token answers the same 401, whatever was presented', async () => {
    const token = auth.token;
    const valid = { 'content-type': 'application/json' };
    const credentials: [string, Record<string, string>][] = [
      ['no credentials', {}],
      ['a wrong token', { authorization: 'Bearer wrong' }],
      ['the token with a suffix', { authorization: `Bearer ${token}x` }],
      ['a prefix of the token', { authorization: `Bearer ${token.slice(0, -1)}` }],
      ['the token upper-cased', { authorization: `Bearer ${token.toUpperCase()}` }],
      ['the token under the Basic scheme', { authorization: `Basic ${Buffer.from(`user:${token}`).toString('base64')}` }],
      ['the scheme without a token', { authorization: 'Bearer' }],
      ['the token without a scheme', { authorization: token }],
      ['the token twice', { authorization: `Bearer ${token} ${token}` }],
      ['a wrong body signature', { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` }],
    ];
    const routes = baseRequests({ lbip });
    const unknownPaths = routes.map((r) => ({ ...r, path: '/nope', defect: `${r.fn} /nope` }));
    const requests = [...routes, ...unknownPaths].flatMap((c) => [
      ...credentials.map(([what, headers]) => ({ what, raw: toRaw(c, { ...valid, ...headers }) })),
      // A wrong bearer token is not rescued by a correct signature of the body.
      { what: 'a wrong bearer token beside a valid signature', raw: toRaw(c, { ...valid, authorization: 'Bearer wrong', 'x-hub-signature-256': signBody(c.body ?? '', token) }) },
      // Tokens are only read from headers.
      { what: 'the token in the query string', raw: { ...toRaw(c, valid), url: `${toRaw(c, valid).url}${c.query ? '&' : '?'}token=${token}&access_token=${token}` } },
    ]);
    const before = snapshot(cluster);
    const spawnsBefore = helmSpawnCount();
    cluster.requests.reset();

    const replies = await mapPool(requests, CONCURRENCY, (r) => client.send(r.raw));

    console.log(`unauthenticated: ${requests.length} requests, statuses ${JSON.stringify(count(replies, (r) => String(r.status)))}`);
    const expected = JSON.stringify({ error: { code: 'UNAUTHORIZED', message: 'Unauthorized' } });
    const wrong = replies
      .map((r, i) => ({ r, req: requests[i] }))
      .filter(({ r }) => r.status !== 401 || r.text !== expected || r.headers['content-type'] !== 'application/json')
      .map(({ r, req }) => `${req.raw.method} ${req.raw.url} with ${req.what} -> ${r.status} ${r.text.slice(0, 200)}`);
    expect(wrong).toEqual([]);
    expect(helmSpawnCount()).toBe(spawnsBefore);
    expect(cluster.requests.entries).toEqual([]);
    expect(snapshot(cluster)).toEqual(before);
  });

  // Without this the corpus could pass by refusing everything for a reason unrelated to its defects.
  test('each unmutated base request gets past validation and policy (helm is started, or the call succeeds)', async () => {
    const results: string[] = [];
    for (const c of baseRequests({ lbip })) {
      const spawns = helmSpawnCount();
      const reply = await client.send(toRaw(c));
      const code = reply.status >= 400 ? JSON.parse(reply.text).error.code : undefined;
      const reachesHelm = c.fn === 'helm' || c.fn === 'deploy-and-expose' || c.fn === 'undeploy';
      const ok = reachesHelm ? reply.status === 500 && code === 'HELM_FAILED' && helmSpawnCount() > spawns : reply.status >= 200 && reply.status < 300;
      if (!ok) results.push(`${c.label} ${c.method} ${c.path} -> ${reply.status} ${reply.text.slice(0, 200)} (helm spawns +${helmSpawnCount() - spawns})`);
    }
    expect(results).toEqual([]);
  });

  test('a rule whose backend is in a namespace outside ALLOWED_NAMESPACES cannot be deleted by its port', async () => {
    const tcpRules = () =>
      (cluster.store.get({ resource: 'configmaps', namespace: INGRESS_DEFAULTS.namespace, name: INGRESS_DEFAULTS.tcpConfigMap }) as unknown as { data: Record<string, string> })
        .data;
    expect(tcpRules()['30001']).toBe('kube-system/kube-dns:53');
    const reply = await client.send({
      method: 'POST',
      url: `${strict.url}/function/ingress-rule/delete`,
      headers: { authorization: `Bearer ${auth.token}`, 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify({ port: 30001 })),
    });
    const answer = { status: reply.status, body: JSON.parse(reply.text) };
    // Refused, or nothing of the other namespace deleted.
    expect([403, 200]).toContain(answer.status);
    if (answer.status === 403) expect(answer.body.error.code).toBe('FORBIDDEN_BY_POLICY');
    else expect(answer.body).toEqual({ deleted: [] });
    expect(tcpRules()['30001']).toBe('kube-system/kube-dns:53');
  });
});
