/**
 * The real helm 4 binary against the emulator: every helm operation the project relies on, with
 * results checked in the emulator's store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../../../dev/cluster/index.js';
import { deploymentTemplate, writeChartFiles } from '../../template/node20-helm-ts/runtime/helm/chart-repo.js';

const helmBinary = join(process.cwd(), '.tools/bin/helm');

let cluster: Cluster;
let home: string;
let chart: string;
let lbChart: string;
let widgetChart: string;

const widgetCrd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
`;

/** Without a status subresource the chart can set status; Reconciling=True keeps kstatus InProgress. */
const widgetTemplate = `apiVersion: example.com/v1
kind: Widget
metadata:
  name: {{ .Release.Name }}
spec:
  size: 1
status:
  conditions:
    - type: Reconciling
      status: "True"
      reason: Progressing
`;

const chartTemplates = `apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  selector:
    app: {{ .Release.Name }}
  ports:
    - name: http
      port: 80
      targetPort: 8080
---
${deploymentTemplate({ replicas: '{{ .Values.replicas }}' })}{{- if .Values.extra }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-extra
data:
  greeting: {{ .Values.greeting | quote }}
{{- end }}
`;

/** Runs helm in a fresh process each time, as the functions do. */
function helm(args: string[], options: { reject?: boolean } = {}) {
  return execa(helmBinary, args, {
    reject: options.reject ?? true,
    env: {
      KUBECONFIG: cluster.kubeconfigPath,
      // helm keeps its discovery cache under $HOME/.kube: keep it out of the working directory.
      HOME: home,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
    },
    extendEnv: false,
  });
}

/** Adds `--output=json` among the flags (before `--`) and parses stdout. */
async function helmJson(args: string[]): Promise<any> {
  const end = args.indexOf('--');
  const { stdout } = await helm(end < 0 ? [...args, '--output=json'] : [...args.slice(0, end), '--output=json', ...args.slice(end)]);
  return JSON.parse(stdout);
}

function releaseSecrets(release: string, namespace = 'default') {
  return cluster.store.list({ resource: 'secrets', namespace }, { labelSelector: `owner=helm,name=${release}` });
}

beforeAll(async () => {
  cluster = await startCluster();
  home = await mkdtemp(join(tmpdir(), 'emulator-helm-'));
  chart = writeChartFiles(join(home, 'demo'), {
    name: 'demo',
    values: 'replicas: 1\nimage: nginx:1.27\nextra: false\ngreeting: hello\n',
    templates: { 'all.yaml': chartTemplates },
  });
  lbChart = writeChartFiles(join(home, 'lb'), {
    name: 'lb',
    values: '{}\n',
    templates: { 'all.yaml': 'apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  type: LoadBalancer\n  ports:\n    - port: 80\n' },
  });
  widgetChart = writeChartFiles(join(home, 'widget'), {
    name: 'widget',
    values: '{}\n',
    templates: { 'all.yaml': widgetTemplate },
    files: { 'crds/widgets.yaml': widgetCrd },
  });
});

afterAll(async () => {
  await cluster?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

describe('helm 4 against the emulator', () => {
  it('installs with server-side apply, protobuf release Secrets and OpenAPI v3 validation', async () => {
    cluster.requests.reset();
    const release = await helmJson(['install', '--namespace=default', '--', 'demo', chart]);
    expect(release).toMatchObject({ name: 'demo', namespace: 'default', version: 1, info: { status: 'deployed', description: 'Install complete' }, apply_method: 'ssa' });

    const deployment = cluster.store.get({ resource: 'deployments', namespace: 'default', name: 'demo' })!;
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.metadata.labels).toEqual({ 'app.kubernetes.io/managed-by': 'Helm' });
    expect(deployment.metadata.annotations).toEqual({ 'meta.helm.sh/release-name': 'demo', 'meta.helm.sh/release-namespace': 'default' });
    const service = cluster.store.get({ resource: 'services', namespace: 'default', name: 'demo' })!;
    expect(service.spec.clusterIP).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$/);
    expect(service.spec.ports).toEqual([{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }]);

    const secrets = releaseSecrets('demo');
    expect(secrets.map((s) => s.metadata.name)).toEqual(['sh.helm.release.v1.demo.v1']);
    expect(secrets[0]).toMatchObject({ type: 'helm.sh/release.v1', metadata: { labels: { owner: 'helm', name: 'demo', status: 'deployed', version: '1' } } });

    // What helm asked for: OpenAPI v3 only (no v2, so validation needs no schemas), protobuf bodies
    // for the release Secret, server-side apply for the chart's resources.
    const paths = cluster.requests.entries.map((e) => e.path);
    expect(paths).toContain('/openapi/v3');
    expect(paths).not.toContain('/openapi/v2');
    // Aggregated discovery answered everything: no per-group discovery documents were needed.
    expect(paths.filter((p) => /^\/apis?(\/[^/]+){0,2}$/.test(p) && p !== '/api' && p !== '/apis')).toEqual([]);
    expect(cluster.requests.filter({ verb: 'create', resource: 'secrets' })[0].contentType).toBe('application/vnd.kubernetes.protobuf');
    expect(cluster.requests.filter({ verb: 'patch', resource: 'deployments' }).map((e) => [e.patchType, e.fieldManager, e.status])).toEqual([['apply', 'helm', 201]]);
  });

  it('upgrades: changed values reach the Deployment, a resource dropped from the chart is deleted', async () => {
    const withExtra = await helmJson(['upgrade', '--namespace=default', '--set=replicas=3', '--set=extra=true', '--', 'demo', chart]);
    expect(withExtra).toMatchObject({ version: 2, info: { status: 'deployed', description: 'Upgrade complete' } });
    const deployment = cluster.store.get({ resource: 'deployments', namespace: 'default', name: 'demo' })!;
    expect(deployment.spec.replicas).toBe(3);
    expect(deployment.metadata.generation).toBe(2);
    expect(deployment.status).toMatchObject({ observedGeneration: 2, replicas: 3, readyReplicas: 3, updatedReplicas: 3, availableReplicas: 3 });
    expect(cluster.store.get({ resource: 'configmaps', namespace: 'default', name: 'demo-extra' })?.data).toEqual({ greeting: 'hello' });

    const withoutExtra = await helmJson(['upgrade', '--namespace=default', '--reuse-values', '--set=extra=false', '--', 'demo', chart]);
    expect(withoutExtra.version).toBe(3);
    expect(cluster.store.get({ resource: 'configmaps', namespace: 'default', name: 'demo-extra' })).toBeUndefined();
    expect(cluster.store.get({ resource: 'deployments', namespace: 'default', name: 'demo' })!.spec.replicas).toBe(3);
    expect(releaseSecrets('demo').map((s) => [s.metadata.name, s.metadata.labels!.status])).toEqual([
      ['sh.helm.release.v1.demo.v1', 'superseded'],
      ['sh.helm.release.v1.demo.v2', 'superseded'],
      ['sh.helm.release.v1.demo.v3', 'deployed'],
    ]);
  });

  it('lists, shows status and history from fresh helm processes', async () => {
    const list = await helmJson(['list', '--namespace=default']);
    expect(list).toEqual([
      { name: 'demo', namespace: 'default', revision: '3', updated: expect.any(String), status: 'deployed', chart: 'demo-0.1.0', app_version: '1.0' },
    ]);
    const status = await helmJson(['status', '--namespace=default', '--', 'demo']);
    expect(status).toMatchObject({ name: 'demo', version: 3, info: { status: 'deployed' }, config: { extra: false, replicas: 3 } });
    const history = await helmJson(['history', '--namespace=default', '--', 'demo']);
    expect(history.map((h: any) => [h.revision, h.status, h.description])).toEqual([
      [1, 'superseded', 'Install complete'],
      [2, 'superseded', 'Upgrade complete'],
      [3, 'deployed', 'Upgrade complete'],
    ]);
  });

  it('rolls back to an earlier revision', async () => {
    await helm(['rollback', '--namespace=default', '--', 'demo', '1']);
    expect(cluster.store.get({ resource: 'deployments', namespace: 'default', name: 'demo' })!.spec.replicas).toBe(1);
    const history = await helmJson(['history', '--namespace=default', '--', 'demo']);
    expect(history.map((h: any) => [h.revision, h.status, h.description])).toEqual([
      [1, 'superseded', 'Install complete'],
      [2, 'superseded', 'Upgrade complete'],
      [3, 'superseded', 'Upgrade complete'],
      [4, 'deployed', 'Rollback to 1'],
    ]);
  });

  it('uninstalls: chart objects and release Secrets are gone', async () => {
    const { stdout } = await helm(['uninstall', '--namespace=default', '--', 'demo']);
    expect(stdout).toContain('release "demo" uninstalled');
    expect(cluster.store.get({ resource: 'deployments', namespace: 'default', name: 'demo' })).toBeUndefined();
    expect(cluster.store.get({ resource: 'services', namespace: 'default', name: 'demo' })).toBeUndefined();
    expect(releaseSecrets('demo')).toEqual([]);
    expect(await helmJson(['list', '--namespace=default'])).toEqual([]);
    const missing = await helm(['status', '--namespace=default', '--', 'demo'], { reject: false });
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('release: not found');
  });

  it('install --wait finishes once workloads are ready', async () => {
    const started = Date.now();
    const release = await helmJson(['install', '--namespace=default', '--wait', '--timeout=30s', '--', 'waited', chart]);
    expect(release.info.status).toBe('deployed');
    expect(Date.now() - started).toBeLessThan(10_000);
    await helm(['uninstall', '--namespace=default', '--wait', '--timeout=30s', '--', 'waited']);
    expect(cluster.store.list({ resource: 'deployments', namespace: 'default' })).toEqual([]);
  });

  it('install --wait follows a watch until a custom resource stops reconciling (CRD installed from crds/)', async () => {
    let finished = false;
    const install = helm(['install', '--namespace=default', '--wait', '--timeout=20s', '--', 'widgets', widgetChart]).finally(() => {
      finished = true;
    });
    await expect.poll(() => cluster.requests.count({ verb: 'watch', resource: 'widgets' }), { interval: 20, timeout: 10_000 }).toBeGreaterThan(0);
    const widget = cluster.store.get({ resource: 'widgets', namespace: 'default', name: 'widgets' })!;
    expect(widget.status).toEqual({ conditions: [{ type: 'Reconciling', status: 'True', reason: 'Progressing' }] });
    expect(finished).toBe(false);

    const response = await fetch(`${cluster.url}/apis/example.com/v1/namespaces/default/widgets/widgets`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ status: { conditions: [{ type: 'Reconciling', status: 'False', reason: 'Done' }] } }),
    });
    expect(response.status).toBe(200);
    expect((await install).exitCode).toBe(0);
    expect(cluster.store.get({ resource: 'customresourcedefinitions', name: 'widgets.example.com' })!.status.conditions.map((c: any) => [c.type, c.status])).toEqual([
      ['NamesAccepted', 'True'],
      ['Established', 'True'],
    ]);
  });

  it('install --wait times out while a resource is still reconciling', async () => {
    const result = await helm(['install', '--namespace=default', '--wait', '--timeout=1s', '--', 'stuck', widgetChart], { reject: false });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('context deadline exceeded');
    expect(releaseSecrets('stuck')[0].metadata.labels!.status).toBe('failed');
  });

  it('gives LoadBalancer Services an address from the pool, stable across upgrades', async () => {
    await helm(['install', '--namespace=default', '--', 'edge', lbChart]);
    const first = cluster.store.get({ resource: 'services', namespace: 'default', name: 'edge' })!;
    expect(first.status).toEqual({ loadBalancer: { ingress: [{ ip: '203.0.113.10', ipMode: 'VIP' }] } });
    expect(first.spec.ports).toEqual([{ port: 80, protocol: 'TCP', targetPort: 80, nodePort: 30000 }]);
    await helm(['upgrade', '--namespace=default', '--', 'edge', lbChart]);
    const second = cluster.store.get({ resource: 'services', namespace: 'default', name: 'edge' })!;
    expect([second.status, second.spec.ports, second.spec.clusterIP]).toEqual([first.status, first.spec.ports, first.spec.clusterIP]);
  });

  it('installs into a namespace it creates and dry-runs against the server', async () => {
    const release = await helmJson(['install', '--namespace=tenant-a', '--create-namespace', '--', 'tenant', chart]);
    expect(release.namespace).toBe('tenant-a');
    expect(cluster.store.get({ resource: 'namespaces', name: 'tenant-a' })?.status).toEqual({ phase: 'Active' });
    expect(cluster.store.get({ resource: 'deployments', namespace: 'tenant-a', name: 'tenant' })).toBeDefined();

    const dry = await helmJson(['upgrade', '--namespace=tenant-a', '--dry-run=server', '--set=replicas=5', '--', 'tenant', chart]);
    expect(dry.info.status).toBe('pending-upgrade');
    expect(cluster.store.get({ resource: 'deployments', namespace: 'tenant-a', name: 'tenant' })!.spec.replicas).toBe(1);
    expect(releaseSecrets('tenant', 'tenant-a')).toHaveLength(1);
  });

  it('reports a release name taken and a chart object owned by another release', async () => {
    const again = await helm(['install', '--namespace=tenant-a', '--', 'tenant', chart], { reject: false });
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain('cannot reuse a name that is still in use');

    cluster.store.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'taken', namespace: 'default' }, spec: { ports: [{ port: 80 }] } });
    const clash = await helm(['install', '--namespace=default', '--', 'taken', chart], { reject: false });
    expect(clash.exitCode).toBe(1);
    expect(clash.stderr).toContain('exists and cannot be imported into the current release');
  });
});
