import { describe, expect, test } from 'vitest';
import { FunctionError } from '#runtime/errors.js';
import { checkChartName, checkNamespace, checkPort, checkRepoUrl, classifyHost, type Policy } from '#runtime/policy.js';
import { thrownBy } from './function-error.js';

const open: Policy = { repoPrefixes: [], chartNames: [], namespaces: [], allowPrivateRepoHosts: false };

function denial(fn: () => unknown): { status: number; code: string; details: unknown } {
  const { status, code, details } = thrownBy(fn);
  return { status, code, details };
}

describe('checkRepoUrl', () => {
  test.each([
    ['https://charts.example.com/stable', 'https://charts.example.com/stable'],
    ['http://charts.example.com', 'http://charts.example.com/'],
    ['oci://registry.example.com/charts/web', 'oci://registry.example.com/charts/web'],
    ['HTTPS://Charts.Example.COM/a/../b', 'https://charts.example.com/b'],
  ])('allows %s and returns it normalised', (url, normalised) => {
    expect(checkRepoUrl(url, open)).toBe(normalised);
  });

  test.each([
    ['file:///etc/passwd', 'repo-scheme'],
    ['ftp://charts.example.com/', 'repo-scheme'],
    ['javascript:alert(1)', 'repo-scheme'],
    ['not a url', 'repo-url'],
    ['relative/path', 'repo-url'],
    ['https://charts.example.com\\@evil.test/', 'repo-url'],
    ['https://user:pass@charts.example.com/', 'repo-userinfo'],
    ['oci://token@registry.example.com/x', 'repo-userinfo'],
  ])('denies %s by rule %s', (url, rule) => {
    const d = denial(() => checkRepoUrl(url, open));
    expect(d).toMatchObject({ status: 403, code: 'FORBIDDEN_BY_POLICY', details: { rule } });
  });

  test.each([
    ['http://169.254.169.254/latest/meta-data', 'metadata'],
    ['http://metadata.google.internal/computeMetadata/v1', 'metadata'],
    ['http://metadata/computeMetadata', 'metadata'],
    ['oci://METADATA.google.internal./x', 'metadata'],
    ['http://[fd00:ec2::254]/', 'metadata'],
    ['http://169.254.10.1/', 'link-local'],
    ['http://[fe80::1]/', 'link-local'],
    ['http://[::ffff:169.254.1.1]/', 'link-local'],
  ])('always denies %s (%s), even when private hosts are allowed', (url, hostClass) => {
    for (const policy of [open, { ...open, allowPrivateRepoHosts: true }]) {
      expect(denial(() => checkRepoUrl(url, policy))).toMatchObject({ status: 403, details: { rule: 'repo-host', hostClass } });
    }
  });

  test.each([
    ['http://127.0.0.1:8879/charts', 'loopback'],
    ['http://localhost:8879/', 'loopback'],
    ['http://charts.localhost/', 'loopback'],
    ['http://[::1]/', 'loopback'],
    ['http://0.0.0.0/', 'loopback'],
    ['http://2130706433/', 'loopback'],
    ['oci://2130706433/charts', 'loopback'],
    ['oci://0x7f.1:5000/charts', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://10.1.2.3/', 'private'],
    ['http://172.16.0.1/', 'private'],
    ['http://192.168.1.10/', 'private'],
    ['oci://[fd12::1]/x', 'private'],
  ])('denies %s (%s) unless allowPrivateRepoHosts', (url, hostClass) => {
    expect(denial(() => checkRepoUrl(url, open))).toMatchObject({ details: { rule: 'repo-host', hostClass } });
    expect(() => checkRepoUrl(url, { ...open, allowPrivateRepoHosts: true })).not.toThrow();
  });

  test('with prefixes, allows only URLs under one of them, at a path boundary', () => {
    const policy = { ...open, repoPrefixes: ['https://charts.example.com', 'oci://registry.example.com/team-a/'] };
    expect(checkRepoUrl('https://charts.example.com/stable', policy)).toBe('https://charts.example.com/stable');
    expect(checkRepoUrl('oci://registry.example.com/team-a/web', policy)).toBe('oci://registry.example.com/team-a/web');
    for (const url of [
      'https://charts.example.com.evil.test/',
      'https://charts.example.com:8443/',
      'http://charts.example.com/',
      'oci://registry.example.com/team-b/web',
      'oci://registry.example.com/team-a/../team-b/web',
    ]) {
      expect(denial(() => checkRepoUrl(url, policy))).toEqual({
        status: 403,
        code: 'FORBIDDEN_BY_POLICY',
        details: { rule: 'repo-prefix', allowed: policy.repoPrefixes },
      });
    }
  });

  test('a prefix without a trailing slash stops at a path segment boundary', () => {
    const policy = { ...open, repoPrefixes: ['oci://registry.example.com/charts'] };
    expect(() => checkRepoUrl('oci://registry.example.com/charts/web', policy)).not.toThrow();
    expect(denial(() => checkRepoUrl('oci://registry.example.com/charts-evil/web', policy)).details).toMatchObject({
      rule: 'repo-prefix',
    });
  });
});

describe('classifyHost', () => {
  test.each([
    ['charts.example.com', 'public'],
    ['8.8.8.8', 'public'],
    ['[2001:db8::1]', 'public'],
    ['100.64.0.1', 'private'],
    ['100.100.100.200', 'metadata'],
    ['instance-data', 'metadata'],
  ])('%s is %s', (host, hostClass) => {
    expect(classifyHost(host)).toBe(hostClass);
  });
});

describe('checkChartName', () => {
  const policy = { ...open, chartNames: ['bitnami/', 'stable/web-*', 'exact-chart', 'app-?'] };

  test.each(['anything/at-all', 'x'])('allows every chart when the list is empty: %s', (name) => {
    expect(() => checkChartName(name, open)).not.toThrow();
  });

  test.each(['bitnami/redis', 'stable/web-frontend', 'exact-chart', 'app-1'])('allows %s', (name) => {
    expect(() => checkChartName(name, policy)).not.toThrow();
  });

  test.each(['bitnami', 'bitnamix/redis', 'stable/web', 'exact-chart-2', 'app-10', 'other/web-a'])('denies %s', (name) => {
    expect(denial(() => checkChartName(name, policy))).toEqual({
      status: 403,
      code: 'FORBIDDEN_BY_POLICY',
      details: { rule: 'chart-name', allowed: policy.chartNames },
    });
  });

  test('treats regex characters in entries literally', () => {
    const p = { ...open, chartNames: ['a.b*'] };
    expect(() => checkChartName('a.b-c', p)).not.toThrow();
    expect(() => checkChartName('axb-c', p)).toThrow(FunctionError);
  });
});

describe('checkNamespace', () => {
  const policy = { ...open, namespaces: ['tenant-*', 'shared'] };

  test.each(['tenant-a', 'tenant-42', 'shared'])('allows %s', (ns) => {
    expect(() => checkNamespace(ns, policy)).not.toThrow();
  });

  test.each(['kube-system', 'shared-2', 'xtenant-a'])('denies %s', (ns) => {
    expect(denial(() => checkNamespace(ns, policy))).toEqual({
      status: 403,
      code: 'FORBIDDEN_BY_POLICY',
      details: { rule: 'namespace', allowed: policy.namespaces },
    });
  });

  test('allows every namespace when the list is empty', () => {
    expect(() => checkNamespace('kube-public', open)).not.toThrow();
  });
});

describe('checkPort', () => {
  const range = { from: 20000, to: 20010 };

  test.each([20000, 20005, 20010])('allows %i', (port) => {
    expect(() => checkPort(port, range)).not.toThrow();
  });

  test.each([19999, 20011])('denies %i outside the range', (port) => {
    expect(denial(() => checkPort(port, range))).toEqual({
      status: 403,
      code: 'FORBIDDEN_BY_POLICY',
      details: { rule: 'port-range', range },
    });
  });

  test.each([80, 443, 10254])('denies %i reserved by ingress-nginx even inside the range', (port) => {
    expect(denial(() => checkPort(port, { from: 1, to: 65535 })).details).toMatchObject({ rule: 'port-reserved' });
  });

  test.each([0, 65536, 1.5, Number.NaN])('rejects %s as invalid input', (port) => {
    expect(denial(() => checkPort(port, range))).toMatchObject({ status: 400, code: 'INVALID_INPUT' });
  });
});
