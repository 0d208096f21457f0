import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '#runtime/config.js';
import {
  chartLocation,
  chartNameOf,
  normalizeRepoUrl,
  refreshRepo,
  repoNameFor,
  resolveChart,
} from '#runtime/helm/repo.js';
import { helmSpawnCount } from '#runtime/helm/run.js';
import { helmSettings } from '#runtime/helm/settings.js';
import { thrownBy } from '../function-error.js';
import { HELM, startChartRepo, type ChartRepo } from './chart-repo.js';
import { fakeHelm } from './fake-helm.js';

const secretsDir = mkdtempSync(join(tmpdir(), 'secrets-'));
writeFileSync(join(secretsDir, 'repo-creds'), JSON.stringify({ username: 'bob', password: 'pw-123' }));
writeFileSync(join(secretsDir, 'wrong-creds'), JSON.stringify({ username: 'bob', password: 'nope' }));
writeFileSync(join(secretsDir, 'not-json'), 'plain token');
writeFileSync(join(secretsDir, 'helm-deployer-token'), JSON.stringify({ username: 'x', password: 'y' }));

const config = loadConfig({ HELM_BINARY: HELM, SECRETS_DIR: secretsDir });
const settings = (env: Record<string, string> = {}) => helmSettings(env);

const codeOf = (fn: () => unknown): string => thrownBy(fn).code;

describe('names and locations', () => {
  test.each([
    ['https://host/index.yaml', 'https://host'],
    ['https://host/charts/', 'https://host/charts'],
    ['https://host/charts/index.yaml', 'https://host/charts'],
    ['https://HOST:443/charts//', 'https://host/charts'],
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080'],
  ])('normalizeRepoUrl(%s) = %s', (input, output) => {
    expect(normalizeRepoUrl(input)).toBe(output);
  });

  test('repository names come from a hash of URL and credentials secret', () => {
    const a = repoNameFor('https://host');
    expect(a).toMatch(/^r-[0-9a-f]{20}$/);
    expect(repoNameFor('https://host')).toBe(a);
    expect(repoNameFor('https://other')).not.toBe(a);
    expect(repoNameFor('https://host', 'creds')).not.toBe(a);
  });

  test.each([
    ['stable/rabbitmq', 'rabbitmq'],
    ['app', 'app'],
    ['oci://registry.example.com/charts/app:1.2.3', 'app'],
    ['oci://registry.example.com:5000/charts/app', 'app'],
    [`oci://r.example.com/app@sha256:${'a'.repeat(64)}`, 'app'],
  ])('chartNameOf(%s) = %s', (ref, name) => {
    expect(chartNameOf(ref)).toBe(name);
  });

  test('stable/<chart> maps to STABLE_REPO_URL, default charts.helm.sh/stable', () => {
    expect(chartLocation({ chartName: 'stable/nginx-ingress' }, settings())).toEqual({
      url: 'https://charts.helm.sh/stable',
      repo: { name: repoNameFor('https://charts.helm.sh/stable'), url: 'https://charts.helm.sh/stable' },
    });
    expect(chartLocation({ chartName: 'stable/x' }, settings({ STABLE_REPO_URL: 'http://127.0.0.1:1/index.yaml' })).url).toBe('http://127.0.0.1:1');
    expect(chartLocation({ chartName: 'stable/x' }, settings({ HELM_REPOSITORIES: 'stable=https://mirror/s', STABLE_REPO_URL: 'https://x' })).url).toBe('https://mirror/s');
  });

  test('other repositories must be configured', () => {
    expect(chartLocation({ chartName: 'bitnami/redis' }, settings({ HELM_REPOSITORIES: 'bitnami=https://charts.bitnami.com/bitnami' })).url).toBe(
      'https://charts.bitnami.com/bitnami',
    );
    expect(codeOf(() => chartLocation({ chartName: 'bitnami/redis' }, settings()))).toBe('CHART_NOT_FOUND');
    // the hashed names of this process's repositories cannot be named directly
    expect(codeOf(() => chartLocation({ chartName: `${repoNameFor('https://charts.helm.sh/stable')}/x` }, settings()))).toBe('CHART_NOT_FOUND');
  });

  test('privateChartsRepo with a chart name, or the original alias/chart form', () => {
    const repo = { name: repoNameFor('https://host'), url: 'https://host' };
    expect(chartLocation({ chartName: 'app', privateChartsRepo: 'https://host/index.yaml' }, settings())).toEqual({ url: 'https://host', repo });
    expect(chartLocation({ chartName: 'mine/app', privateChartsRepo: 'https://host/' }, settings())).toEqual({ url: 'https://host', repo });
    expect(chartLocation({ chartName: 'app', privateChartsRepo: 'https://host', repoCredentialsSecret: 'c' }, settings())).toEqual({
      url: 'https://host',
      repo: { name: repoNameFor('https://host', 'c'), url: 'https://host', secret: 'c' },
    });
  });

  test('oci references are used as they are', () => {
    expect(chartLocation({ chartName: 'oci://registry.example.com/charts/app' }, settings())).toEqual({ url: 'oci://registry.example.com/charts/app' });
  });

  test.each([
    [{ chartName: 'app' }],
    [{ chartName: 'app', repoCredentialsSecret: 'c' }],
    [{ chartName: 'app', privateChartsRepo: 'https://host', repoCredentialsSecret: '../etc/passwd' }],
    [{ chartName: 'app', privateChartsRepo: 'ftp://host' }],
    [{ chartName: 'app', privateChartsRepo: 'https://user:pw@host' }],
    [{ chartName: 'oci://r.example.com/app', privateChartsRepo: 'https://host' }],
    [{ chartName: '-app', privateChartsRepo: 'https://host' }],
  ])('refused: %j', (source) => {
    expect(codeOf(() => chartLocation(source, settings()))).toBe('INVALID_INPUT');
  });
});

describe('repositories with the real helm', () => {
  let repo: ChartRepo;
  let locked: ChartRepo;
  beforeAll(async () => {
    [repo, locked] = await Promise.all([
      startChartRepo({ charts: [{ name: 'app', version: '1.0.0' }] }),
      startChartRepo({ charts: [{ name: 'secret-app', version: '0.1.0' }], auth: { username: 'bob', password: 'pw-123' } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([repo.close(), locked.close()]);
  });

  test('the index is fetched once and reused within the TTL; concurrent callers share one add', async () => {
    const ctx = { config, settings: settings({ HELM_REPO_INDEX_TTL_SECONDS: '300' }) };
    const source = { chartName: 'app', privateChartsRepo: `${repo.url}/index.yaml` };
    const results = await Promise.all([resolveChart(source, ctx), resolveChart(source, ctx), resolveChart(source, ctx)]);
    const name = repoNameFor(repo.url);
    for (const r of results) expect(r).toEqual({ ref: `${name}/app`, name: 'app', repo: { name, url: repo.url } });
    const spawns = helmSpawnCount();
    await resolveChart(source, ctx);
    expect(helmSpawnCount()).toBe(spawns);
    expect(repo.hits.get('/index.yaml')).toBe(1);
  });

  test('a refresh is skipped when the index was fetched after the caller started', async () => {
    const ctx = { config, settings: settings() };
    const source = { chartName: 'app', privateChartsRepo: repo.url };
    const resolved = await resolveChart(source, ctx);
    const before = repo.hits.get('/index.yaml') ?? 0;
    await refreshRepo(resolved.repo!, 0, ctx);
    expect(repo.hits.get('/index.yaml')).toBe(before);
    await refreshRepo(resolved.repo!, Date.now() + 1, ctx);
    expect(repo.hits.get('/index.yaml')).toBe(before + 1);
  });

  test('after the TTL the index is fetched again', async () => {
    const ctx = { config, settings: settings({ HELM_REPO_INDEX_TTL_SECONDS: '0' }) };
    const source = { chartName: 'app', privateChartsRepo: `${repo.url}/` };
    await resolveChart(source, ctx);
    const before = repo.hits.get('/index.yaml') ?? 0;
    await resolveChart(source, ctx);
    expect(repo.hits.get('/index.yaml')).toBe(before + 1);
  });

  test('credentials from a secret file reach the repository', async () => {
    const ctx = { config, settings: settings() };
    const resolved = await resolveChart({ chartName: 'secret-app', privateChartsRepo: locked.url, repoCredentialsSecret: 'repo-creds' }, ctx);
    expect(resolved.ref).toBe(`${repoNameFor(locked.url, 'repo-creds')}/secret-app`);
    expect(locked.authorizations).toContain(`Basic ${Buffer.from('bob:pw-123').toString('base64')}`);
  });

  test('wrong credentials: REPO_UNREACHABLE, without the password in the error', async () => {
    const err = await resolveChart({ chartName: 'secret-app', privateChartsRepo: locked.url, repoCredentialsSecret: 'wrong-creds' }, { config }).catch((e) => e);
    expect(err).toMatchObject({ code: 'REPO_UNREACHABLE', status: 502 });
    expect(JSON.stringify(err.toJSON())).not.toContain('nope');
    expect(err.details.helm).toContain('401');
  });

  test('no credentials for a protected repository: REPO_UNREACHABLE', async () => {
    await expect(resolveChart({ chartName: 'secret-app', privateChartsRepo: locked.url }, { config })).rejects.toMatchObject({ code: 'REPO_UNREACHABLE' });
  });

  test.each(['missing', 'not-json', 'helm-deployer-token'])('credentials secret %s is refused before helm runs', async (secret) => {
    const before = helmSpawnCount();
    const err = await resolveChart({ chartName: 'secret-app', privateChartsRepo: locked.url, repoCredentialsSecret: secret }, { config }).catch((e) => e);
    expect(err.toJSON()).toEqual({
      error: {
        code: 'INVALID_INPUT',
        message: 'repoCredentialsSecret does not name a usable credentials secret',
        details: [{ path: '/repoCredentialsSecret', message: 'must name a secret holding {"username","password"}' }],
      },
    });
    expect(helmSpawnCount()).toBe(before);
  });

  test('an unreachable repository is REPO_UNREACHABLE', async () => {
    await expect(resolveChart({ chartName: 'app', privateChartsRepo: 'http://127.0.0.1:1/' }, { config })).rejects.toMatchObject({
      code: 'REPO_UNREACHABLE',
    });
  });

  test('a repository that goes away is REPO_UNREACHABLE on the next refresh', async () => {
    const gone = await startChartRepo({ charts: [{ name: 'app', version: '1.0.0' }] });
    const ctx = { config, settings: settings({ HELM_REPO_INDEX_TTL_SECONDS: '0' }) };
    await resolveChart({ chartName: 'app', privateChartsRepo: gone.url }, ctx);
    await gone.close();
    const err = await resolveChart({ chartName: 'app', privateChartsRepo: gone.url }, ctx).catch((e) => e);
    expect(err).toMatchObject({ code: 'REPO_UNREACHABLE' });
  });
});

describe('the password never reaches argv', () => {
  test('repo add gets it on stdin', async () => {
    const fake = fakeHelm(`
const dir = require('node:path').dirname(process.argv[1]);
fs.writeFileSync(dir + '/call.json', JSON.stringify({ argv: process.argv.slice(2), input: fs.readFileSync(0, 'utf8') }));
`);
    const cfg = loadConfig({ HELM_BINARY: fake.path, SECRETS_DIR: secretsDir });
    await resolveChart({ chartName: 'app', privateChartsRepo: 'https://charts.example.com/x', repoCredentialsSecret: 'repo-creds' }, { config: cfg });
    const call = JSON.parse(readFileSync(join(fake.dir, 'call.json'), 'utf8'));
    expect(call.argv).toEqual([
      'repo',
      'add',
      '--force-update',
      '--timeout=120s',
      '--username=bob',
      '--password-stdin',
      '--',
      repoNameFor('https://charts.example.com/x', 'repo-creds'),
      'https://charts.example.com/x',
    ]);
    expect(call.input).toBe('pw-123\n');
  });
});
