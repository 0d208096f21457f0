import { describe, expect, test } from 'vitest';
import { releaseStatus, releaseSummary, revisionSummary, splitChart } from '#runtime/helm/release.js';

describe('splitChart', () => {
  test.each([
    ['app-1.2.3', 'app', '1.2.3'],
    ['nginx-ingress-1.41.3', 'nginx-ingress', '1.41.3'],
    ['my-app-2.0.0-rc.1', 'my-app', '2.0.0-rc.1'],
    ['app-v1.0.0+build.5', 'app', 'v1.0.0+build.5'],
    ['app-10', 'app', '10'],
    ['noversion', 'noversion', ''],
  ])('%s', (text, chart, chartVersion) => {
    expect(splitChart(text)).toEqual({ chart, chartVersion });
  });
});

describe('helm JSON to stable shapes', () => {
  test('a list row (helm prints the revision as a string)', () => {
    expect(
      releaseSummary({
        name: 'web',
        namespace: 'default',
        revision: '3',
        updated: '2026-01-01 00:00:00 +0000 UTC',
        status: 'deployed',
        chart: 'app-1.1.0',
        app_version: '1.1',
      }),
    ).toEqual({
      releaseName: 'web',
      namespace: 'default',
      revision: 3,
      status: 'deployed',
      chart: 'app',
      chartVersion: '1.1.0',
      appVersion: '1.1',
      updated: '2026-01-01 00:00:00 +0000 UTC',
    });
  });

  test('a history row', () => {
    expect(revisionSummary({ revision: 1, status: 'superseded', chart: 'app-1.0.0', description: 'Install complete' })).toEqual({
      revision: 1,
      status: 'superseded',
      chart: 'app',
      chartVersion: '1.0.0',
      appVersion: '',
      updated: '',
      description: 'Install complete',
    });
  });

  test('a release with services from its manifest', () => {
    expect(
      releaseStatus({
        name: 'web',
        namespace: 'ns',
        version: 2,
        info: { status: 'deployed', description: 'Upgrade complete', notes: 'hi', first_deployed: 'a', last_deployed: 'b' },
        chart: { metadata: { name: 'app', version: '1.0.0', appVersion: '1' } },
        manifest: 'kind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n',
      }),
    ).toEqual({
      releaseName: 'web',
      namespace: 'ns',
      revision: 2,
      status: 'deployed',
      chart: 'app',
      chartVersion: '1.0.0',
      appVersion: '1',
      notes: 'hi',
      description: 'Upgrade complete',
      firstDeployed: 'a',
      lastDeployed: 'b',
      services: [{ name: 'web', namespace: 'ns', type: 'ClusterIP', ports: [{ port: 80, protocol: 'TCP' }] }],
    });
  });
});
