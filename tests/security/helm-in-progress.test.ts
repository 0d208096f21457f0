// Releases stuck with an operation in progress, over HTTP: helm's only lock is a latest revision in a
// pending-* state, which a killed helm leaves behind for good. The helm function must refuse every
// write to such a release with 409 OPERATION_IN_PROGRESS (never run a second operation over it),
// keep reads working, and leave the recovery paths open: rollback of a pending-upgrade, uninstall of
// a pending-install.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '#runtime/config.js';
import { resolveHelmBinary } from '#runtime/helm/binary.js';
import { createLogger } from '#runtime/logger.js';
import { startFunctionServer, type FunctionServer } from '#runtime/server.js';
import { startCluster, type Cluster, type KubeObject } from '../../dev/cluster/index.js';
import { startChartRepo, writeChart, type ChartRepo } from '../../dev/chart-repo.js';
import { setupAuthToken, type AuthToken } from '../../dev/token.js';
import { handler } from '../../functions/helm/handler.js';

const NAMESPACE = 'tenant-a';
const CHART = { name: 'app', version: '1.0.0', services: [{ ports: [{ name: 'tcp', port: 8080 }] }] };

let cluster: Cluster;
let repo: ChartRepo;
let auth: AuthToken;
let server: FunctionServer;
let scratch: string;

beforeAll(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'helm-in-progress-'));
  auth = setupAuthToken();
  [cluster, repo] = await Promise.all([startCluster(), startChartRepo({ charts: [CHART] })]);
  const config = loadConfig({ ...auth.env, KUBECONFIG: cluster.kubeconfigPath, ALLOW_PRIVATE_REPO_HOSTS: 'true', HELM_TIMEOUT_SECONDS: '30' });
  server = await startFunctionServer({ handler, functionName: 'helm', config, logger: createLogger({ level: 'silent' }), port: 0 });
});

afterAll(async () => {
  await server?.close({ graceMs: 0, forceMs: 0 });
  await Promise.all([cluster?.stop(), repo?.close()]);
  auth?.cleanup();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function call(route: string, body: object): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}${route}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${auth.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

const install = (releaseName: string) => ({ chartName: 'app', privateChartsRepo: repo.url, releaseName, namespace: NAMESPACE });

function releaseSecrets(releaseName: string): KubeObject[] {
  return cluster.store.list({ resource: 'secrets', namespace: NAMESPACE }, { labelSelector: `owner=helm,name=${releaseName}` });
}

function statusesOf(releaseName: string): Record<string, string | undefined> {
  return Object.fromEntries(releaseSecrets(releaseName).map((s) => [s.metadata!.name!, s.metadata!.labels?.status]));
}

// A release Secret holds base64(gzip(JSON)) of the release in `data.release`, itself base64 in the
// API like every Secret value; its `status` label mirrors info.status.
function setReleaseStatus(secretName: string, status: string): void {
  const secret = cluster.store.get({ resource: 'secrets', namespace: NAMESPACE, name: secretName }) as KubeObject & { data: { release: string } };
  const helmEncoded = Buffer.from(secret.data.release, 'base64').toString('utf8');
  const release = JSON.parse(gunzipSync(Buffer.from(helmEncoded, 'base64')).toString('utf8'));
  release.info.status = status;
  const encoded = gzipSync(Buffer.from(JSON.stringify(release))).toString('base64');
  cluster.store.update({
    ...secret,
    metadata: { ...secret.metadata, labels: { ...secret.metadata?.labels, status } },
    data: { ...secret.data, release: Buffer.from(encoded).toString('base64') },
  });
}

describe('a release stuck with an operation in progress', () => {
  test('helm killed during an upgrade leaves pending-upgrade: writes answer 409 OPERATION_IN_PROGRESS, reads work, rollback recovers', async () => {
    expect((await call('/install', install('stuck'))).status).toBe(201);

    // Another helm (an earlier call that was killed: OOM, node loss) upgrades the release; the
    // Deployment write hangs, and the process dies with SIGKILL, so helm cannot mark it failed.
    cluster.faults.delay({ resource: 'deployments', verb: 'patch', namespace: NAMESPACE, ms: 5000, times: 1 });
    const home = path.join(scratch, 'killed-helm');
    const upgrade = execa(resolveHelmBinary({}), ['upgrade', `--namespace=${NAMESPACE}`, '--timeout=60s', '--', 'stuck', writeChart(scratch, CHART)], {
      env: { KUBECONFIG: cluster.kubeconfigPath, HOME: home, HELM_CACHE_HOME: `${home}/cache`, HELM_CONFIG_HOME: `${home}/config`, HELM_DATA_HOME: `${home}/data` },
      extendEnv: false,
      reject: false,
    });
    await expect.poll(() => statusesOf('stuck')['sh.helm.release.v1.stuck.v2'], { interval: 20, timeout: 10_000 }).toBe('pending-upgrade');
    // Killed while its Deployment write is held (the delay is used up), not before sending it.
    await expect.poll(() => cluster.faults.list().length, { interval: 20, timeout: 10_000 }).toBe(0);
    upgrade.kill('SIGKILL');
    expect((await upgrade).signal).toBe('SIGKILL');
    expect(statusesOf('stuck')).toEqual({ 'sh.helm.release.v1.stuck.v1': 'deployed', 'sh.helm.release.v1.stuck.v2': 'pending-upgrade' });

    for (const [route, body] of [
      ['/upgrade', install('stuck')],
      ['/upgrade', { ...install('stuck'), install: true, values: { replicaCount: 2 } }],
      ['/install', install('stuck')],
      ['/', install('stuck')],
    ] as const) {
      const answer = await call(route, body);
      expect({ route, status: answer.status, code: answer.body.error?.code }).toEqual({ route, status: 409, code: 'OPERATION_IN_PROGRESS' });
    }
    // Nothing was written over the pending revision.
    expect(statusesOf('stuck')).toEqual({ 'sh.helm.release.v1.stuck.v1': 'deployed', 'sh.helm.release.v1.stuck.v2': 'pending-upgrade' });

    const status = await call('/status', { releaseName: 'stuck', namespace: NAMESPACE });
    expect([status.status, status.body.status, status.body.revision]).toEqual([200, 'pending-upgrade', 2]);

    // The way out: roll back to the last deployed revision, then upgrades work again.
    const rollback = await call('/rollback', { releaseName: 'stuck', namespace: NAMESPACE });
    expect([rollback.status, rollback.body.status, rollback.body.revision]).toEqual([200, 'deployed', 3]);
    expect((await call('/upgrade', install('stuck'))).status).toBe(200);
  });

  test('a release left in pending-install answers 409 OPERATION_IN_PROGRESS to install and upgrade; uninstall recovers', async () => {
    expect((await call('/install', install('half'))).status).toBe(201);
    setReleaseStatus('sh.helm.release.v1.half.v1', 'pending-install');

    for (const [route, body] of [
      ['/install', install('half')],
      ['/upgrade', install('half')],
      ['/upgrade', { ...install('half'), install: true }],
    ] as const) {
      const answer = await call(route, body);
      expect({ route, status: answer.status, code: answer.body.error?.code }).toEqual({ route, status: 409, code: 'OPERATION_IN_PROGRESS' });
    }
    expect(statusesOf('half')).toEqual({ 'sh.helm.release.v1.half.v1': 'pending-install' });

    expect(await call('/uninstall', { releaseName: 'half', namespace: NAMESPACE })).toEqual({
      status: 200,
      body: { releaseName: 'half', namespace: NAMESPACE, uninstalled: true },
    });
    expect(releaseSecrets('half')).toEqual([]);
    expect((await call('/install', install('half'))).status).toBe(201);
  });

  test('a release left in pending-rollback refuses install and upgrade with 409 OPERATION_IN_PROGRESS', async () => {
    expect((await call('/install', install('back'))).status).toBe(201);
    expect((await call('/upgrade', install('back'))).status).toBe(200);
    setReleaseStatus('sh.helm.release.v1.back.v2', 'pending-rollback');
    for (const route of ['/upgrade', '/install']) {
      const answer = await call(route, install('back'));
      expect({ route, status: answer.status, code: answer.body.error?.code }).toEqual({ route, status: 409, code: 'OPERATION_IN_PROGRESS' });
    }
  });
});
