import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { FunctionError } from '#runtime/errors.js';
import {
  getManifestArgs,
  getMetadataArgs,
  getValuesArgs,
  historyArgs,
  installArgs,
  listArgs,
  parseTimeout,
  repoAddArgs,
  repoUpdateArgs,
  rollbackArgs,
  statusArgs,
  uninstallArgs,
  upgradeArgs,
  waitStrategy,
} from '#runtime/helm/args.js';
import { thrownBy } from '../function-error.js';

function invalidPath(fn: () => unknown): string {
  const err = thrownBy(fn);
  expect(err.code).toBe('INVALID_INPUT');
  return (err.details as { path: string }[])[0].path;
}

const base = { namespace: 'team-a', chart: 'r-abc/app', timeoutSeconds: 120 };

describe('installArgs', () => {
  test('flags first, then --, then release and chart', () => {
    expect(
      installArgs({
        ...base,
        releaseName: 'web-1',
        version: '1.2.3',
        valuesFile: '/tmp/x/values-1.json',
        wait: 'watcher',
        rollbackOnFailure: true,
        createNamespace: true,
      }),
    ).toEqual([
      'install',
      '--namespace=team-a',
      '--output=json',
      '--timeout=120s',
      '--wait=watcher',
      '--rollback-on-failure',
      '--version=1.2.3',
      '--values=/tmp/x/values-1.json',
      '--create-namespace',
      '--',
      'web-1',
      'r-abc/app',
    ]);
  });

  test('without a release name helm generates one and only the chart follows --', () => {
    expect(installArgs(base)).toEqual(['install', '--namespace=team-a', '--output=json', '--timeout=120s', '--generate-name', '--', 'r-abc/app']);
  });

  test('oci references pass as the chart positional', () => {
    const args = installArgs({ ...base, chart: 'oci://registry.example.com/charts/app:1.0.0', releaseName: 'a' });
    expect(args.slice(-3)).toEqual(['--', 'a', 'oci://registry.example.com/charts/app:1.0.0']);
  });

  test.each([
    ['releaseName', { releaseName: '--kubeconfig=/etc/x' }, '/releaseName'],
    ['releaseName', { releaseName: '-n' }, '/releaseName'],
    ['releaseName', { releaseName: 'Upper' }, '/releaseName'],
    ['releaseName', { releaseName: 'a'.repeat(54) }, '/releaseName'],
    ['releaseName', { releaseName: 'a b' }, '/releaseName'],
    ['namespace', { namespace: '--all-namespaces' }, '/namespace'],
    ['namespace', { namespace: 'kube_system' }, '/namespace'],
    ['chart', { chart: '--post-renderer=x' }, '/chart'],
    ['chart', { chart: '/etc/passwd' }, '/chart'],
    ['chart', { chart: '../chart' }, '/chart'],
    ['chart', { chart: 'https://evil.test/app.tgz' }, '/chart'],
    ['chart', { chart: 'repo/app\n--set=x' }, '/chart'],
    ['version', { version: '--devel' }, '/version'],
    ['version', { version: '1.0\n' }, '/version'],
  ])('rejects %s %j', (_field, patch, path) => {
    expect(invalidPath(() => installArgs({ ...base, releaseName: 'ok', ...patch }))).toBe(path);
  });

  test('whatever the release name, it is either refused or the only value between -- and the chart', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (name) => {
        let args: string[];
        try {
          args = installArgs({ ...base, releaseName: name });
        } catch (err) {
          expect((err as FunctionError).code).toBe('INVALID_INPUT');
          return;
        }
        expect(args.slice(args.indexOf('--'))).toEqual(['--', name, 'r-abc/app']);
        expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      }),
    );
  });
});

describe('upgradeArgs', () => {
  test('install, reuse-values and create-namespace (only with --install)', () => {
    expect(upgradeArgs({ ...base, releaseName: 'web', install: true, reuseValues: true, createNamespace: true })).toEqual([
      'upgrade',
      '--namespace=team-a',
      '--output=json',
      '--timeout=120s',
      '--install',
      '--create-namespace',
      '--reuse-values',
      '--',
      'web',
      'r-abc/app',
    ]);
    expect(upgradeArgs({ ...base, releaseName: 'web', createNamespace: true })).not.toContain('--create-namespace');
  });
});

describe('other operations', () => {
  const ref = { releaseName: 'web', namespace: 'team-a' };

  test('uninstall', () => {
    expect(uninstallArgs({ ...ref, timeoutSeconds: 30, wait: 'watcher' })).toEqual([
      'uninstall',
      '--namespace=team-a',
      '--timeout=30s',
      '--wait=watcher',
      '--',
      'web',
    ]);
  });

  test('list in one namespace or all, every current state including pending', () => {
    const states = ['--deployed', '--failed', '--pending', '--uninstalling'];
    expect(listArgs({ namespace: 'team-a', filter: '^web', max: 10, offset: 5 })).toEqual([
      'list',
      '--output=json',
      ...states,
      '--namespace=team-a',
      '--filter=^web',
      '--max=10',
      '--offset=5',
    ]);
    expect(listArgs({ allNamespaces: true })).toEqual(['list', '--output=json', ...states, '--all-namespaces']);
    expect(listArgs({})).toEqual(['list', '--output=json', ...states, '--namespace=default']);
  });

  test('status, history, get values, get metadata, get manifest', () => {
    expect(statusArgs({ ...ref, revision: 2 })).toEqual(['status', '--namespace=team-a', '--output=json', '--revision=2', '--', 'web']);
    expect(historyArgs({ ...ref, max: 3 })).toEqual(['history', '--namespace=team-a', '--output=json', '--max=3', '--', 'web']);
    expect(getValuesArgs({ ...ref, all: true })).toEqual(['get', 'values', '--namespace=team-a', '--output=json', '--all', '--', 'web']);
    expect(getMetadataArgs({ ...ref, revision: 1 })).toEqual(['get', 'metadata', '--namespace=team-a', '--output=json', '--revision=1', '--', 'web']);
    expect(getManifestArgs(ref)).toEqual(['get', 'manifest', '--namespace=team-a', '--', 'web']);
  });

  test('rollback to the previous revision or a given one', () => {
    expect(rollbackArgs({ ...ref, timeoutSeconds: 60 })).toEqual(['rollback', '--namespace=team-a', '--timeout=60s', '--', 'web']);
    expect(rollbackArgs({ ...ref, timeoutSeconds: 60, revision: 0 })).toEqual(['rollback', '--namespace=team-a', '--timeout=60s', '--', 'web']);
    expect(rollbackArgs({ ...ref, timeoutSeconds: 60, revision: 3 })).toEqual(['rollback', '--namespace=team-a', '--timeout=60s', '--', 'web', '3']);
    expect(invalidPath(() => rollbackArgs({ ...ref, timeoutSeconds: 60, revision: -1 }))).toBe('/revision');
  });

  test('repo add reads the password from stdin, never from argv', () => {
    expect(repoAddArgs({ name: 'r-1', url: 'https://charts.example.com/x', username: 'bob', timeoutSeconds: 30 })).toEqual([
      'repo',
      'add',
      '--force-update',
      '--timeout=30s',
      '--username=bob',
      '--password-stdin',
      '--',
      'r-1',
      'https://charts.example.com/x',
    ]);
    expect(repoAddArgs({ name: 'r-1', url: 'http://127.0.0.1:1/' })).toEqual(['repo', 'add', '--force-update', '--', 'r-1', 'http://127.0.0.1:1/']);
    expect(invalidPath(() => repoAddArgs({ name: 'r-1', url: 'file:///etc/passwd' }))).toBe('/url');
    expect(invalidPath(() => repoAddArgs({ name: 'r-1', url: 'https://u:p@host/' }))).toBe('/url');
    expect(invalidPath(() => repoAddArgs({ name: '--x', url: 'https://host/' }))).toBe('/repository');
  });

  test('repo update of named repositories', () => {
    expect(repoUpdateArgs({ names: ['r-1'], timeoutSeconds: 10 })).toEqual(['repo', 'update', '--timeout=10s', '--', 'r-1']);
  });
});

describe('timeouts and wait', () => {
  test.each([
    [90, 90],
    ['90s', 90],
    ['5m', 300],
    ['1m30s', 90],
    ['1h', 3600],
  ])('parseTimeout(%j) = %i', (input, seconds) => {
    expect(parseTimeout(input)).toBe(seconds);
  });

  test.each([[0], [3601], [1.5], ['5'], ['1d'], ['0s'], ['2h'], ['-5s'], ['']])('parseTimeout(%j) is refused', (input) => {
    expect(invalidPath(() => parseTimeout(input))).toBe('/timeout');
  });

  test('wait: true is watcher, false leaves helm default', () => {
    expect(waitStrategy(true)).toBe('watcher');
    expect(waitStrategy(false)).toBeUndefined();
    expect(waitStrategy(undefined)).toBeUndefined();
    expect(waitStrategy('legacy')).toBe('legacy');
    expect(invalidPath(() => waitStrategy('x' as never))).toBe('/wait');
  });
});
