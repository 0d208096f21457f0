// End to end: the helm function in-process, the real helm 4 binary, the in-memory Kubernetes API and
// a chart repository served over HTTP by the test.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { loadConfig, type RuntimeConfig } from '#runtime/config.js';
import type { FunctionHandler } from '#runtime/types.js';
import { getValuesArgs } from '#runtime/helm/args.js';
import { helmSpawnCount, parseJsonOutput, runHelm } from '#runtime/helm/run.js';
import { startCluster, type Cluster } from '../../../dev/cluster/index.js';
import { HELM, startChartRepo, type ChartRepo } from '../../template/node20-helm-ts/runtime/helm/chart-repo.js';
import { invalidInput } from '../invoke.js';
import { call } from './harness.js';

let cluster: Cluster;
let repo: ChartRepo;
let config: RuntimeConfig;

const secretsDir = mkdtempSync(join(tmpdir(), 'helm-fn-secrets-'));

beforeAll(async () => {
  [cluster, repo] = await Promise.all([
    startCluster(),
    startChartRepo({
      charts: [
        { name: 'app', version: '1.0.0', appVersion: '1.0' },
        { name: 'app', version: '1.1.0', appVersion: '1.1' },
        { name: 'nginx-ingress', version: '1.41.3', appVersion: 'v0.34.1' },
        { name: 'rabbitmq', version: '6.18.2', appVersion: '3.8.2' },
      ],
    }),
  ]);
  // `stable/<chart>` of the original API resolves to the test's repository.
  process.env.STABLE_REPO_URL = repo.url;
  process.env.HELM_REPO_INDEX_TTL_SECONDS = '300';
  config = loadConfig({
    KUBECONFIG: cluster.kubeconfigPath,
    HELM_BINARY: HELM,
    SECRETS_DIR: secretsDir,
    ALLOW_PRIVATE_REPO_HOSTS: 'true',
    HELM_TIMEOUT_SECONDS: '30',
  });
});

afterAll(async () => {
  await Promise.all([cluster?.stop(), repo?.close()]);
});

const services = (release: string, chart: string, namespace = 'default', port = 80, udpPort = 53) => [
  {
    name: `${release}-${chart}`,
    namespace,
    type: 'ClusterIP',
    ports: [
      { name: 'tcp', port, protocol: 'TCP', targetPort: 8080 },
      { name: 'udp', port: udpPort, protocol: 'UDP', targetPort: 5353 },
    ],
  },
];

const installed = (release: string, chart: string, chartVersion: string, appVersion: string, extra: object = {}) => ({
  releaseName: release,
  namespace: 'default',
  revision: 1,
  status: 'deployed',
  chart,
  chartVersion,
  appVersion,
  notes: `Release ${release} of ${chart}\n`,
  created: true,
  services: services(release, chart),
  ...extra,
});

async function userValues(releaseName: string, namespace = 'default'): Promise<unknown> {
  const out = await runHelm({ args: getValuesArgs({ releaseName, namespace }), config });
  return parseJsonOutput(out.stdout);
}

describe('the original API payloads, unchanged', () => {
  test('POST / {"chartName":"stable/nginx-ingress","releaseName":"x"}', async () => {
    const res = await call(config, 'POST', '/', { chartName: 'stable/nginx-ingress', releaseName: 'x' });
    expect(res).toEqual({ status: 201, body: installed('x', 'nginx-ingress', '1.41.3', 'v0.34.1') });
    expect(cluster.store.get({ resource: 'services', namespace: 'default', name: 'x-nginx-ingress' })).toBeDefined();
    expect(cluster.store.get({ resource: 'deployments', namespace: 'default', name: 'x-nginx-ingress' })).toBeDefined();
  });

  test('privateChartsRepo with a trailing /index.yaml', async () => {
    const res = await call(config, 'POST', '/install', { chartName: 'app', releaseName: 'a1', privateChartsRepo: `${repo.url}/index.yaml` });
    expect(res).toEqual({ status: 201, body: installed('a1', 'app', '1.1.0', '1.1') });
  });

  test('stable/rabbitmq with --set style values and a generated name', async () => {
    const res = await call(config, 'POST', '/install', { chartName: 'stable/rabbitmq', values: { 'rabbitmq.username': 'admin' } });
    expect(res.status).toBe(201);
    const name = res.body.releaseName as string;
    expect(name).toMatch(/^rabbitmq-\d+$/);
    expect(res.body).toEqual(installed(name, 'rabbitmq', '6.18.2', '3.8.2'));
    expect(await userValues(name)).toEqual({ rabbitmq: { username: 'admin' } });
  });
});

describe('install', () => {
  test('values and valuesObject reach helm as one file, types and punctuation intact', async () => {
    const res = await call(config, 'POST', '/install', {
      chartName: 'app',
      privateChartsRepo: repo.url,
      releaseName: 'vals',
      version: '1.0.0',
      valuesObject: { service: { port: 1, udpPort: 54 }, list: [1, 'two'] },
      values: { 'service.port': 8081, note: 'a,b=c\nd', 'dotted\\.key': 'x', flag: true, empty: null },
    });
    expect(res).toEqual({
      status: 201,
      body: { ...installed('vals', 'app', '1.0.0', '1.0'), services: services('vals', 'app', 'default', 8081, 54) },
    });
    expect(await userValues('vals')).toEqual({
      service: { port: 8081, udpPort: 54 },
      list: [1, 'two'],
      note: 'a,b=c\nd',
      'dotted.key': 'x',
      flag: true,
      empty: null,
    });
  });

  test('repeating an identical install answers 200 with created: false and changes nothing', async () => {
    const body = { chartName: 'app', privateChartsRepo: repo.url, releaseName: 'idem', version: '1.0.0', values: { 'service.port': 8082 } };
    const first = await call(config, 'POST', '/install', body);
    expect(first.status).toBe(201);
    const again = await call(config, 'POST', '/install', body);
    expect(again).toEqual({ status: 200, body: { ...first.body, created: false } });
    // without a version, any version of the same chart counts as the same install
    const { version: _v, ...noVersion } = body;
    expect((await call(config, 'POST', '/install', noVersion)).status).toBe(200);
    const history = await call(config, 'POST', '/history', { releaseName: 'idem' });
    expect(history.body.revisions).toHaveLength(1);
  });

  test('an install that differs from the existing release is RELEASE_EXISTS', async () => {
    const body = { chartName: 'app', privateChartsRepo: repo.url, releaseName: 'differs', version: '1.0.0' };
    expect((await call(config, 'POST', '/install', body)).status).toBe(201);
    const details = { releaseName: 'differs', namespace: 'default', status: 'deployed', chart: 'app', chartVersion: '1.0.0' };
    const conflict = {
      status: 409,
      body: {
        error: {
          code: 'RELEASE_EXISTS',
          message: 'A release with this name exists with a different chart, version, values or state',
          details,
        },
      },
    };
    expect(await call(config, 'POST', '/install', { ...body, values: { 'service.port': 1 } })).toEqual(conflict);
    expect(await call(config, 'POST', '/install', { ...body, version: '1.1.0' })).toEqual(conflict);
    expect(await call(config, 'POST', '/install', { chartName: 'stable/rabbitmq', releaseName: 'differs' })).toEqual(conflict);
  });

  test('two concurrent installs of one name: exactly one 201, the other 409', async () => {
    const body = { chartName: 'app', privateChartsRepo: repo.url, releaseName: 'race' };
    const answers = await Promise.all([call(config, 'POST', '/install', body), call(config, 'POST', '/install', body)]);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409]);
    const loser = answers.find((a) => a.status === 409)!;
    expect(loser.body.error.code).toBe('OPERATION_IN_PROGRESS');
  });

  test('the repository index is fetched once for many installs', async () => {
    const before = repo.hits.get('/index.yaml') ?? 0;
    for (const name of ['cache-1', 'cache-2', 'cache-3']) {
      expect((await call(config, 'POST', '/install', { chartName: 'app', privateChartsRepo: repo.url, releaseName: name })).status).toBe(201);
    }
    expect(repo.hits.get('/index.yaml') ?? 0).toBe(before);
  });

  test('a version newer than the cached index makes it refresh once', async () => {
    await call(config, 'POST', '/install', { chartName: 'app', privateChartsRepo: repo.url, releaseName: 'warm' });
    const before = repo.hits.get('/index.yaml') ?? 0;
    await repo.addChart({ name: 'app', version: '2.0.0', appVersion: '2.0' });
    const res = await call(config, 'POST', '/install', { chartName: 'app', privateChartsRepo: repo.url, releaseName: 'newer', version: '2.0.0' });
    expect(res).toEqual({ status: 201, body: installed('newer', 'app', '2.0.0', '2.0') });
    expect(repo.hits.get('/index.yaml')).toBe(before + 1);
  });

  test('a private repository with credentials from a secret file', async () => {
    const locked = await startChartRepo({ charts: [{ name: 'private-app', version: '0.1.0' }], auth: { username: 'bob', password: 'pw-9' } });
    try {
      writeFileSync(join(secretsDir, 'tenant-repo'), JSON.stringify({ username: 'bob', password: 'pw-9' }));
      const body = { chartName: 'private-app', releaseName: 'priv', privateChartsRepo: `${locked.url}/index.yaml`, repoCredentialsSecret: 'tenant-repo' };
      expect(await call(config, 'POST', '/install', body)).toEqual({ status: 201, body: installed('priv', 'private-app', '0.1.0', '1.0') });
      // the same repository without the credentials is another repository entry, and is refused by the server
      const { repoCredentialsSecret: _s, ...anonymous } = body;
      const res = await call(config, 'POST', '/install', { ...anonymous, releaseName: 'priv2' });
      expect(res.status).toBe(502);
      expect(res.body.error.code).toBe('REPO_UNREACHABLE');
      expect(JSON.stringify(res.body)).not.toContain('pw-9');
    } finally {
      await locked.close();
    }
  });

  test('a namespace is created when allowed, and NAMESPACE_NOT_FOUND otherwise', async () => {
    const res = await call(config, 'POST', '/install', { chartName: 'app', privateChartsRepo: repo.url, releaseName: 'ns1', namespace: 'team-a' });
    expect(res.status).toBe(201);
    expect(res.body.namespace).toBe('team-a');
    expect(res.body.services).toEqual(services('ns1', 'app', 'team-a'));
    expect(cluster.store.get({ resource: 'namespaces', name: 'team-a' })).toBeDefined();

    const strict = { ...config, createNamespace: false };
    const missing = await call(strict, 'POST', '/install', { chartName: 'app', privateChartsRepo: repo.url, releaseName: 'ns2', namespace: 'team-b' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NAMESPACE_NOT_FOUND');
  });
});

describe('errors from helm', () => {
  const app = { privateChartsRepo: '', chartName: 'app' };
  beforeAll(() => {
    app.privateChartsRepo = repo.url;
  });

  test('a chart missing from the repository is CHART_NOT_FOUND', async () => {
    const res = await call(config, 'POST', '/install', { chartName: 'nope', privateChartsRepo: repo.url, releaseName: 'e1' });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('CHART_NOT_FOUND');
    expect(res.body.error.details.helm).toMatch(/^INSTALLATION FAILED: chart "nope" matching\s+not found in r-[0-9a-f]{20} index/);
  });

  test('a version missing even after a refresh is CHART_NOT_FOUND', async () => {
    const res = await call(config, 'POST', '/install', { ...app, releaseName: 'e2', version: '9.9.9' });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('CHART_NOT_FOUND');
  });

  test('values the chart schema refuses are INVALID_VALUES', async () => {
    const res = await call(config, 'POST', '/install', { ...app, releaseName: 'e3', values: { 'service.port': 'abc' } });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INVALID_VALUES');
    expect(res.body.error.details.helm).toContain("values don't meet the specifications of the schema(s)");
  });

  test('a template that fails to render is INVALID_VALUES', async () => {
    const res = await call(config, 'POST', '/install', { ...app, releaseName: 'e4', values: { fail: true } });
    expect(res).toEqual({
      status: 422,
      body: {
        error: {
          code: 'INVALID_VALUES',
          message: 'Chart values are invalid',
          details: { helm: 'INSTALLATION FAILED: execution error at (app/templates/service.yaml:1:25): failing on purpose', exitCode: 1 },
        },
      },
    });
  });

  test('an unreachable repository is REPO_UNREACHABLE', async () => {
    const res = await call(config, 'POST', '/install', { chartName: 'app', privateChartsRepo: 'http://127.0.0.1:1/charts', releaseName: 'e5' });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('REPO_UNREACHABLE');
  });

  test('a Kubernetes API failure is KUBE_API_ERROR', async () => {
    cluster.faults.inject({ resource: 'secrets', verb: 'list', status: 500, times: 10 });
    try {
      const res = await call(config, 'POST', '/status', { releaseName: 'x' });
      expect(res.status).toBe(502);
      expect(res.body.error.code).toBe('KUBE_API_ERROR');
    } finally {
      cluster.faults.clear();
    }
  });
});

describe('hostile or invalid input never starts helm', () => {
  test.each([
    ['release name as a flag', { chartName: 'stable/x', releaseName: '--kubeconfig=/etc/passwd' }, '/releaseName'],
    ['chart as a flag', { chartName: '--post-renderer=/bin/sh' }, '/chartName'],
    ['chart as a path', { chartName: '/etc/passwd' }, '/chartName'],
    ['chart as a URL', { chartName: 'https://evil.test/x.tgz' }, '/chartName'],
    ['namespace', { chartName: 'stable/x', namespace: 'Kube System' }, '/namespace'],
    ['values key as a flag', { chartName: 'stable/x', values: { '--set-file': 'x' } }, '/values'],
    ['values key with a newline', { chartName: 'stable/x', values: { 'a\nb': 'x' } }, '/values'],
    ['nested object in values', { chartName: 'stable/x', values: { a: { b: 1 } } }, '/values/a'],
    ['unknown property', { chartName: 'stable/x', kubeconfig: '/etc/k' }, '/'],
    ['repository scheme', { chartName: 'app', privateChartsRepo: 'file:///etc/passwd' }, '/privateChartsRepo'],
    ['repository credentials in the URL', { chartName: 'app', privateChartsRepo: 'https://u:p@host/' }, '/privateChartsRepo'],
    ['version as a flag', { chartName: 'stable/x', version: '--devel' }, '/version'],
    ['timeout', { chartName: 'stable/x', timeout: '1d' }, '/timeout'],
  ])('%s: 400', async (_what, body, path) => {
    const before = helmSpawnCount();
    const res = await call(config, 'POST', '/install', body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_INPUT');
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
    expect(helmSpawnCount()).toBe(before);
  });

  test('a bare chart name without a repository is INVALID_INPUT', async () => {
    const before = helmSpawnCount();
    const res = await call(config, 'POST', '/install', { chartName: 'app' });
    expect(res).toEqual(invalidInput([{ path: '/chartName', message: 'must be "repo/chart" or an oci:// reference, or come with privateChartsRepo' }]));
    expect(helmSpawnCount()).toBe(before);
  });

  test('conflicting values keys are INVALID_INPUT', async () => {
    const before = helmSpawnCount();
    const res = await call(config, 'POST', '/install', { chartName: 'stable/x', values: { a: 1, 'a.b': 2 } });
    expect(res.status).toBe(400);
    expect(helmSpawnCount()).toBe(before);
  });

  test('policy: loopback repositories are refused unless allowed', async () => {
    const strict = loadConfig({ KUBECONFIG: cluster.kubeconfigPath, HELM_BINARY: HELM });
    const before = helmSpawnCount();
    const res = await call(strict, 'POST', '/install', { chartName: 'app', privateChartsRepo: repo.url });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('FORBIDDEN_BY_POLICY');
    expect(helmSpawnCount()).toBe(before);
  });

  test('policy: namespaces and charts outside the allow-lists are refused', async () => {
    const strict = loadConfig({
      KUBECONFIG: cluster.kubeconfigPath,
      HELM_BINARY: HELM,
      ALLOW_PRIVATE_REPO_HOSTS: 'true',
      ALLOWED_NAMESPACES: 'team-*',
      ALLOWED_CHARTS: 'stable/rabbitmq',
    });
    const before = helmSpawnCount();
    expect((await call(strict, 'POST', '/install', { chartName: 'stable/rabbitmq' })).body.error.details.rule).toBe('namespace');
    expect((await call(strict, 'POST', '/install', { chartName: 'stable/x', namespace: 'team-a' })).body.error.details.rule).toBe('chart-name');
    expect((await call(strict, 'POST', '/uninstall', { releaseName: 'x' })).body.error.details.rule).toBe('namespace');
    expect((await call(strict, 'GET', '/list', undefined, { query: { allNamespaces: 'true' } })).status).toBe(403);
    expect(helmSpawnCount()).toBe(before);
  });

  test('routes and methods', async () => {
    expect(await call(config, 'POST', '/nope', {})).toEqual({ status: 404, body: { error: { code: 'NOT_FOUND', message: 'No such route' } } });
    expect((await call(config, 'GET', '/install')).status).toBe(405);
    expect((await call(config, 'GET', '/uninstall')).status).toBe(405);
    expect((await call(config, 'POST', '/__proto__', {})).status).toBe(404);
  });
});

describe('upgrade, status, history, rollback, list, uninstall', () => {
  const base = { chartName: 'app', privateChartsRepo: '', releaseName: 'life' };
  /** The release after the upgrade below, as both upgrade and status report it. */
  const upgraded = {
    releaseName: 'life',
    namespace: 'default',
    revision: 2,
    status: 'deployed',
    chart: 'app',
    chartVersion: '1.1.0',
    appVersion: '1.1',
    notes: 'Release life of app\n',
  };
  beforeAll(async () => {
    base.privateChartsRepo = repo.url;
    const res = await call(config, 'POST', '/install', { ...base, version: '1.0.0' });
    expect(res.status).toBe(201);
  });

  test('upgrade to another version with new values', async () => {
    const res = await call(config, 'POST', '/upgrade', { ...base, version: '1.1.0', values: { 'service.port': 9090 } });
    expect(res).toEqual({ status: 200, body: { ...upgraded, created: false, services: services('life', 'app', 'default', 9090) } });
  });

  test('status reports the current revision and its services', async () => {
    const res = await call(config, 'GET', '/status', undefined, { query: { releaseName: 'life' } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ...upgraded,
      description: 'Upgrade complete',
      firstDeployed: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      lastDeployed: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      services: services('life', 'app', 'default', 9090),
    });
    const old = await call(config, 'POST', '/status', { releaseName: 'life', revision: 1 });
    expect(old.body).toMatchObject({ revision: 1, status: 'superseded', chartVersion: '1.0.0', services: services('life', 'app') });
  });

  test('history lists every revision', async () => {
    const res = await call(config, 'POST', '/history', { releaseName: 'life' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      releaseName: 'life',
      namespace: 'default',
      revisions: [
        { revision: 1, status: 'superseded', chart: 'app', chartVersion: '1.0.0', appVersion: '1.0', updated: expect.any(String), description: 'Install complete' },
        { revision: 2, status: 'deployed', chart: 'app', chartVersion: '1.1.0', appVersion: '1.1', updated: expect.any(String), description: 'Upgrade complete' },
      ],
    });
  });

  test('rollback to revision 1 makes revision 3', async () => {
    const res = await call(config, 'POST', '/rollback', { releaseName: 'life', revision: 1 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      releaseName: 'life',
      revision: 3,
      status: 'deployed',
      chartVersion: '1.0.0',
      description: 'Rollback to 1',
      services: services('life', 'app'),
    });
    const missing = await call(config, 'POST', '/rollback', { releaseName: 'life', revision: 42 });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('RELEASE_NOT_FOUND');
  });

  test('list shows the releases of a namespace', async () => {
    const res = await call(config, 'POST', '/list', { namespace: 'default', filter: '^life$' });
    expect(res).toEqual({
      status: 200,
      body: {
        releases: [
          { releaseName: 'life', namespace: 'default', revision: 3, status: 'deployed', chart: 'app', chartVersion: '1.0.0', appVersion: '1.0', updated: expect.any(String) },
        ],
      },
    });
    const all = await call(config, 'GET', '/list', undefined, { query: { allNamespaces: 'true' } });
    expect(all.body.releases.map((r: { namespace: string }) => r.namespace)).toContain('team-a');
  });

  test('upgrade of a missing release is RELEASE_NOT_FOUND; with install: true it is created', async () => {
    const missing = await call(config, 'POST', '/upgrade', { ...base, releaseName: 'fresh' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('RELEASE_NOT_FOUND');
    const created = await call(config, 'POST', '/upgrade', { ...base, releaseName: 'fresh', install: true });
    expect(created).toEqual({ status: 201, body: installed('fresh', 'app', '2.0.0', '2.0', { revision: 1 }) });
  });

  test('uninstall is safe to repeat; /delete is an alias', async () => {
    expect(await call(config, 'POST', '/uninstall', { releaseName: 'life' })).toEqual({
      status: 200,
      body: { releaseName: 'life', namespace: 'default', uninstalled: true },
    });
    expect(cluster.store.get({ resource: 'services', namespace: 'default', name: 'life-app' })).toBeUndefined();
    expect(await call(config, 'POST', '/uninstall', { releaseName: 'life' })).toEqual({
      status: 200,
      body: { releaseName: 'life', namespace: 'default', uninstalled: false },
    });
    expect(await call(config, 'POST', '/delete', { releaseName: 'fresh' })).toEqual({
      status: 200,
      body: { releaseName: 'fresh', namespace: 'default', uninstalled: true },
    });
  });

  test('status and history of a missing release are RELEASE_NOT_FOUND', async () => {
    for (const path of ['/status', '/history']) {
      const res = await call(config, 'POST', path, { releaseName: 'life' });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('RELEASE_NOT_FOUND');
    }
  });
});

describe('releases with an operation in progress', () => {
  // Another replica shares the cluster but not this process's locks, helm home or repository cache.
  async function otherReplica(): Promise<FunctionHandler> {
    vi.resetModules();
    const { handler } = await import('../../../functions/helm/handler.js');
    // Its errors are instances of its own copy of the error module.
    const { toErrorResponse } = await import('#runtime/errors.js');
    return async (req, ctx) => {
      try {
        return await handler(req, ctx);
      } catch (err) {
        return toErrorResponse(err);
      }
    };
  }

  test('across replicas: a pending release gives OPERATION_IN_PROGRESS, then the same install is idempotent', async () => {
    const replica = await otherReplica();
    // Slow down the Deployment write (helm has stored the pending-install release by then).
    cluster.faults.delay({ resource: 'deployments', verb: 'patch', namespace: 'slow', ms: 3000, times: 1 });
    const body = { chartName: 'app', privateChartsRepo: repo.url, releaseName: 'pending', namespace: 'slow' };
    const first = call(config, 'POST', '/install', body);
    await expect
      .poll(() => cluster.store.list({ resource: 'secrets', namespace: 'slow' }, { labelSelector: 'owner=helm,name=pending' }).length, {
        interval: 20,
        timeout: 5000,
      })
      .toBe(1);
    const pendingDetails = { releaseName: 'pending', namespace: 'slow', status: 'pending-install', chart: 'app', chartVersion: '2.0.0' };
    expect(await call(config, 'POST', '/install', body, { handler: replica })).toEqual({
      status: 409,
      body: { error: { code: 'OPERATION_IN_PROGRESS', message: 'Another operation is in progress for this release', details: pendingDetails } },
    });
    const upgrade = await call(config, 'POST', '/upgrade', body, { handler: replica });
    expect(upgrade.status).toBe(409);
    expect(upgrade.body.error.code).toBe('OPERATION_IN_PROGRESS');
    const done = await first;
    expect(done.status).toBe(201);
    expect(await call(config, 'POST', '/install', body, { handler: replica })).toEqual({ status: 200, body: { ...done.body, created: false } });
  });

  test('cancelling an install stops helm with SIGTERM; the release is marked failed and can be removed', async () => {
    cluster.faults.delay({ resource: 'deployments', verb: 'patch', namespace: 'cancel', ms: 3000, times: 1 });
    const controller = new AbortController();
    const body = { chartName: 'app', privateChartsRepo: repo.url, releaseName: 'cancelled', namespace: 'cancel' };
    const running = call(config, 'POST', '/install', body, { signal: controller.signal });
    await expect
      .poll(() => cluster.store.list({ resource: 'secrets', namespace: 'cancel' }, { labelSelector: 'owner=helm,name=cancelled' }).length, {
        interval: 20,
        timeout: 5000,
      })
      .toBe(1);
    controller.abort();
    expect(await running).toEqual({ status: 503, body: { error: { code: 'CANCELLED', message: 'The helm operation was cancelled' } } });
    const status = await call(config, 'POST', '/status', { releaseName: 'cancelled', namespace: 'cancel' });
    expect(status.body.status).toBe('failed');
    const retry = await call(config, 'POST', '/install', body);
    expect(retry.status).toBe(409);
    expect(retry.body.error).toMatchObject({ code: 'RELEASE_EXISTS', details: { status: 'failed' } });
    expect((await call(config, 'POST', '/uninstall', { releaseName: 'cancelled', namespace: 'cancel' })).body.uninstalled).toBe(true);
    expect((await call(config, 'POST', '/install', body)).status).toBe(201);
  });
});
