// The RBAC manifests are enough, and each rule is needed: the whole flow (deploy-and-expose,
// port lookup, repair, undeploy) runs through the dev gateway against the emulated cluster with the
// real helm, every function talking to the Kubernetes API as the ServiceAccount stack.yml gives
// it, every request judged by rbac/ (deny by default). Both set-ups are checked: OpenFaaS Pro
// (one ServiceAccount per function) and Community Edition (every function as openfaas-fn:default),
// and both exposure backends: ingress-nginx with rbac/ingress.yaml, gateway-api with
// rbac/gateway-api.yaml (routes in the Service's namespace, or in the Gateway's with ReferenceGrants).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { startChartRepo, type ChartRepo } from '../../dev/chart-repo.js';
import { startCluster, type AuthorizationRequest, type Cluster } from '../../dev/cluster/index.js';
import { GATEWAY_DEFAULTS, gatewayObjects } from '../../dev/gateway-fixture.js';
import { startGateway, type Gateway } from '../../dev/gateway.js';
import { ingressControllerObjects } from '../../dev/ingress-fixture.js';
import { serviceAccountUser, writeKubeconfigs, type KubeconfigSet } from '../../dev/kubeconfig.js';
import { setupAuthToken, type AuthToken } from '../../dev/token.js';
import { BASE_PORTS, caller, controllerPorts, gatewayRoutes, releaseSecrets, ruleEntries, sharedGateway } from '../dev/e2e-helpers.js';
import { startIdentityProxy, type IdentityProxy } from './identity-proxy.js';
import { createAuthorizer, loadManifests, type RbacObject } from './rbac-evaluator.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const rbac = (file: string) => path.join(root, 'rbac', file);

interface StackFunction {
  annotations?: Record<string, string>;
  environment?: Record<string, string>;
}
const stackYml = parse(readFileSync(path.join(root, 'stack.yml'), 'utf8')) as { functions: Record<string, StackFunction> };

/** The tenant namespace the per-namespace RoleBindings of rbac/ are written for. */
const TENANT = 'tenant-a';

/** The Gateway namespace rbac/gateway-api.yaml is written for (its Role's namespace). */
const GATEWAYS = loadManifests([rbac('gateway-api.yaml')]).find((o) => o.kind === 'Role')!.metadata.namespace!;
/** What the ingress functions of stack.yml are switched to for the Gateway API backend. */
const gatewayEnv = (routes: 'service' | 'gateway' = 'service') => ({
  EXPOSURE_BACKEND: 'gateway-api',
  GATEWAY_ROUTE_NAMESPACE: routes,
  LoadBalancerNamespace: GATEWAYS,
  IngressLabel: GATEWAY_DEFAULTS.label,
});
const gatewaySeed = () => [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: GATEWAYS } }, ...gatewayObjects({ namespace: GATEWAYS })];

interface Harness {
  cluster: Cluster;
  gateway: Gateway;
  repo: ChartRepo;
  auth: AuthToken;
  kubeconfigs: KubeconfigSet;
  proxies: IdentityProxy[];
  denied: AuthorizationRequest[];
  /** Every request the API server judged, as "<user> <verb> <resource>". */
  seen: string[];
}
let harness: Harness | undefined;

afterEach(async () => {
  if (!harness) return;
  await harness.gateway.close();
  await harness.repo.close();
  for (const proxy of harness.proxies) await proxy.close();
  await harness.cluster.stop();
  harness.kubeconfigs.cleanup();
  harness.auth.cleanup();
  harness = undefined;
});

/** Starts everything with the given manifests; `accountOf` names each function's ServiceAccount. */
async function start(
  objects: RbacObject[],
  accountOf: (fn: string) => string,
  {
    createTenant = true,
    env = {},
    seed = ingressControllerObjects(),
  }: { createTenant?: boolean; env?: Record<string, string>; /** The exposure backend's shared objects. */ seed?: object[] } = {},
): Promise<Harness> {
  const allowed = createAuthorizer(objects);
  const denied: AuthorizationRequest[] = [];
  const seen: string[] = [];
  const cluster = await startCluster({
    seed: [...seed, ...(createTenant ? [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: TENANT } }] : [])],
    authorize: (req) => {
      seen.push(`${req.user} ${req.verb} ${req.resource}`);
      const ok = allowed(req);
      if (!ok) denied.push(req);
      return ok;
    },
  });
  const names = Object.keys(stackYml.functions);
  const users = names.map((fn) => serviceAccountUser('openfaas-fn', accountOf(fn)));
  const unique = [...new Set(users)];
  const proxies = await Promise.all(unique.map((user) => startIdentityProxy(cluster.url, user)));
  const kubeconfigs = writeKubeconfigs((user) => proxies[unique.indexOf(user)].url, unique);
  const repo = await startChartRepo();
  const auth = setupAuthToken();
  const functionEnv = Object.fromEntries(
    names.map((fn, i) => [fn, { ...stackYml.functions[fn].environment, ...env, KUBECONFIG: kubeconfigs.paths[users[i]] }]),
  );
  const gateway = await startGateway({
    functions: names,
    env: { ...process.env, ...auth.env, LOG_LEVEL: 'silent', ALLOW_PRIVATE_REPO_HOSTS: 'true' },
    functionEnv,
  });
  harness = { cluster, gateway, repo, auth, kubeconfigs, proxies, denied, seen };
  return harness;
}

const proAccount = (fn: string) => stackYml.functions[fn].annotations?.['com.openfaas.serviceaccount'] ?? 'default';

async function fullFlow(h: Harness) {
  const post = caller(h.gateway.url, h.auth.token);
  const body = { chartName: 'iot-gateway', releaseName: 'rbac-demo', namespace: TENANT, privateChartsRepo: h.repo.url };
  // wait: helm watches the workloads until they are ready.
  const deployed = await post('/function/deploy-and-expose', { ...body, wait: true });
  // Delivered twice: the rules are found again, nothing new is made.
  const redelivered = await post('/function/deploy-and-expose', body);
  const upgraded = await post('/function/helm/upgrade', { ...body, values: { replicaCount: '2' }, wait: true });
  const rolledBack = await post('/function/helm/rollback', { releaseName: 'rbac-demo', namespace: TENANT, revision: 1 });
  const history = await post('/function/helm/history', { releaseName: 'rbac-demo', namespace: TENANT });
  const lookup = await post('/function/port-lookup', { protocol: 'tcp' });
  const repair = await post('/function/ingress-rule/repair', { dryRun: true });
  const listed = await fetch(`${h.gateway.url}/function/ingress-rule/list`, { headers: { authorization: `Bearer ${h.auth.token}` } });
  const undeployed = await post('/function/undeploy', { releaseName: 'rbac-demo', namespace: TENANT });
  return { deployed, redelivered, helm: [upgraded.status, rolledBack.status, history.status, history.body.length ?? history.body.revisions?.length], lookup, repair, listed: listed.status, undeployed };
}

/** What the ingress-nginx backend leaves once every rule is deleted: empty ConfigMaps, the controller's own ports. */
const ingressCleared = (h: Harness) => expect([ruleEntries(h.cluster, 'tcp'), ruleEntries(h.cluster, 'udp'), controllerPorts(h.cluster)]).toEqual([{}, {}, BASE_PORTS]);

/** What the gateway-api backend leaves: the Gateway as seeded (its own listener, no rule annotation), no route, no ReferenceGrant. */
function gatewayCleared(h: Harness) {
  const gateway = sharedGateway(h.cluster, GATEWAYS);
  expect([gateway.spec.listeners.map((l) => l.name), gateway.metadata.annotations ?? {}]).toEqual([['http'], {}]);
  expect(gatewayRoutes(h.cluster)).toEqual([]);
  expect(h.cluster.store.list({ group: 'gateway.networking.k8s.io', resource: 'referencegrants' })).toEqual([]);
}

function expectAllowedFlow(h: Harness, flow: Awaited<ReturnType<typeof fullFlow>>, cleared: (h: Harness) => void = ingressCleared) {
  expect(h.denied).toEqual([]);
  expect([flow.deployed.status, flow.deployed.body.endpoints?.length]).toEqual([201, 2]);
  expect([flow.redelivered.status, flow.redelivered.body.endpoints]).toEqual([200, flow.deployed.body.endpoints]);
  expect(flow.helm).toEqual([200, 200, 200, 3]);
  expect(flow.lookup.status).toBe(200);
  expect(flow.repair.status).toBe(200);
  expect(flow.listed).toBe(200);
  expect([flow.undeployed.status, flow.undeployed.body.uninstalled, flow.undeployed.body.removedEndpoints.length]).toEqual([200, true, 2]);
  cleared(h);
  expect(releaseSecrets(h.cluster, TENANT, 'rbac-demo')).toEqual([]);
}

/** The manifests with one rule removed: the rule of `kind/name` whose resources include `resource` and verbs `verb`. */
function withoutRule(objects: RbacObject[], kind: string, name: string, resource: string, verb: string): RbacObject[] {
  let removed = 0;
  const out = objects.map((o) => {
    if (o.kind !== kind || o.metadata.name !== name) return o;
    const rules = (o.rules ?? [])
      .map((r) => {
        if (!r.resources?.includes(resource) || !r.verbs.includes(verb)) return r;
        removed++;
        return { ...r, verbs: r.verbs.filter((v) => v !== verb) };
      })
      .filter((r) => r.verbs.length > 0);
    return { ...o, rules };
  });
  expect(removed).toBe(1);
  return out;
}

const proManifests = () => loadManifests(['orchestrator.yaml', 'helm.yaml', 'ingress.yaml'].map(rbac));
const ceManifests = () => loadManifests(['helm.yaml', 'ingress.yaml', 'community-edition.yaml'].map(rbac));
const proGatewayManifests = () => loadManifests(['orchestrator.yaml', 'helm.yaml', 'gateway-api.yaml'].map(rbac));
const ceGatewayManifests = () => loadManifests(['helm.yaml', 'gateway-api.yaml', 'community-edition.yaml'].map(rbac));
/** The Gateway API requests the flow made, as "<verb> <resource> <namespace>". */
const gatewayApiRequests = (h: Harness) =>
  h.cluster.requests.entries.filter((e) => e.group === 'gateway.networking.k8s.io').map((e) => `${e.verb} ${e.resource} ${e.namespace ?? '(all)'}`);

describe('rbac/ is sufficient', () => {
  test('OpenFaaS Pro: every function as its own ServiceAccount (stack.yml annotations)', async () => {
    const h = await start(proManifests(), proAccount);
    expectAllowedFlow(h, await fullFlow(h));
    // The orchestrators never talk to the Kubernetes API.
    const users = new Set(h.seen.map((line) => line.split(' ')[0]));
    expect([...users].sort()).toEqual([serviceAccountUser('openfaas-fn', 'helm-deployer-helm'), serviceAccountUser('openfaas-fn', 'helm-deployer-ingress')]);
  });

  test('namespaces created on demand: CREATE_NAMESPACE=true with rbac/helm-cluster-wide.yaml instead of RoleBindings', async () => {
    const objects = loadManifests(['orchestrator.yaml', 'helm.yaml', 'helm-cluster-wide.yaml', 'ingress.yaml'].map(rbac)).filter(
      (o) => !(o.kind === 'RoleBinding' && o.metadata.name === 'helm-deployer-helm'),
    );
    const h = await start(objects, proAccount, { createTenant: false, env: { CREATE_NAMESPACE: 'true' } });
    expectAllowedFlow(h, await fullFlow(h));
    expect(h.cluster.store.get({ resource: 'namespaces', name: TENANT })).toBeDefined();
  });

  test('Community Edition: every function as openfaas-fn:default (rbac/community-edition.yaml)', async () => {
    const h = await start(ceManifests(), () => 'default');
    expectAllowedFlow(h, await fullFlow(h));
  });
});

describe('rbac/gateway-api.yaml is sufficient (EXPOSURE_BACKEND=gateway-api)', () => {
  test('OpenFaaS Pro, routes in the Service namespace: no ReferenceGrant is touched', async () => {
    const h = await start(proGatewayManifests(), proAccount, { seed: gatewaySeed(), env: gatewayEnv('service') });
    const flow = await fullFlow(h);
    expectAllowedFlow(h, flow, gatewayCleared);
    expect(flow.deployed.body.endpoints.map((e: { ip: string }) => e.ip)).toEqual(Array(2).fill(sharedGateway(h.cluster, GATEWAYS).status.addresses[0].value));
    const users = new Set(h.seen.map((line) => line.split(' ')[0]));
    expect([...users].sort()).toEqual([serviceAccountUser('openfaas-fn', 'helm-deployer-helm'), serviceAccountUser('openfaas-fn', 'helm-deployer-ingress')]);
    // The backend's writes were all judged (so no denial means something), the ReferenceGrant role
    // went unused, and nothing of ingress-nginx was asked for.
    expect(gatewayApiRequests(h)).toEqual(
      expect.arrayContaining([
        `list gateways ${GATEWAYS}`,
        `update gateways ${GATEWAYS}`,
        `create tcproutes ${TENANT}`,
        `get tcproutes ${TENANT}`,
        `create udproutes ${TENANT}`,
        `delete tcproutes ${TENANT}`,
        `delete udproutes ${TENANT}`,
        'list tcproutes (all)',
        'list udproutes (all)',
      ]),
    );
    expect(gatewayApiRequests(h).filter((r) => r.includes('referencegrants'))).toEqual([]);
    const ingressAccount = serviceAccountUser('openfaas-fn', 'helm-deployer-ingress');
    expect(new Set(h.seen.filter((line) => line.startsWith(`${ingressAccount} `) && !line.includes('gateways') && !line.includes('routes')))).toEqual(
      new Set([`${ingressAccount} get services`]),
    );
  });

  test('OpenFaaS Pro, routes in the Gateway namespace (GATEWAY_ROUTE_NAMESPACE=gateway) with ReferenceGrants', async () => {
    const h = await start(proGatewayManifests(), proAccount, { seed: gatewaySeed(), env: gatewayEnv('gateway') });
    expectAllowedFlow(h, await fullFlow(h), gatewayCleared);
    const requests = gatewayApiRequests(h);
    expect(requests).toEqual(expect.arrayContaining([`create tcproutes ${GATEWAYS}`, `create referencegrants ${TENANT}`, `delete referencegrants ${TENANT}`]));
    expect(requests.filter((r) => r.endsWith(`routes ${TENANT}`))).toEqual([]);
  });

  test('Community Edition, routes in the Gateway namespace: every function as openfaas-fn:default', async () => {
    const h = await start(ceGatewayManifests(), () => 'default', { seed: gatewaySeed(), env: gatewayEnv('gateway') });
    expectAllowedFlow(h, await fullFlow(h), gatewayCleared);
  });
});

describe('rbac/ rules are needed', () => {
  test('without update on the tcp/udp ConfigMaps the port claim is forbidden and the deployment rolled back', async () => {
    const h = await start(withoutRule(proManifests(), 'Role', 'helm-deployer-ingress', 'configmaps', 'update'), proAccount);
    const post = caller(h.gateway.url, h.auth.token);
    const res = await post('/function/deploy-and-expose', { chartName: 'iot-gateway', releaseName: 'rbac-cm', namespace: TENANT, privateChartsRepo: h.repo.url });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.body.error.details.rolledBack).toBe(true);
    expect(h.denied.map((d) => `${d.user} ${d.verb} ${d.resource} ${d.namespace}/${d.name}`)).toContain(
      `${serviceAccountUser('openfaas-fn', 'helm-deployer-ingress')} update configmaps ingress-nginx/tcp-services`,
    );
    expect(releaseSecrets(h.cluster, TENANT, 'rbac-cm')).toEqual([]);
  });

  test('without create on Secrets helm cannot record the release: 403 from the API, install fails', async () => {
    const h = await start(withoutRule(proManifests(), 'ClusterRole', 'helm-deployer-helm-release', 'secrets', 'create'), proAccount);
    const post = caller(h.gateway.url, h.auth.token);
    const res = await post('/function/deploy-and-expose', { chartName: 'iot-gateway', releaseName: 'rbac-sec', namespace: TENANT, privateChartsRepo: h.repo.url });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(h.denied.some((d) => d.verb === 'create' && d.resource === 'secrets' && d.namespace === TENANT)).toBe(true);
    expect(ruleEntries(h.cluster, 'tcp')).toEqual({});
  });

  test('without the RoleBinding of a tenant namespace helm cannot install there', async () => {
    const objects = proManifests().filter((o) => !(o.kind === 'RoleBinding' && o.metadata.name === 'helm-deployer-helm'));
    const h = await start(objects, proAccount);
    const post = caller(h.gateway.url, h.auth.token);
    const res = await post('/function/deploy-and-expose', { chartName: 'iot-gateway', releaseName: 'rbac-ns', namespace: TENANT, privateChartsRepo: h.repo.url });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(h.denied.every((d) => d.user === serviceAccountUser('openfaas-fn', 'helm-deployer-helm') && d.namespace === TENANT)).toBe(true);
    expect(h.denied.length).toBeGreaterThan(0);
  });

  test('gateway-api: without update on Gateways no listener can be added, the deployment is rolled back', async () => {
    const objects = withoutRule(proGatewayManifests(), 'Role', 'helm-deployer-gateway', 'gateways', 'update');
    const h = await start(objects, proAccount, { seed: gatewaySeed(), env: gatewayEnv() });
    const post = caller(h.gateway.url, h.auth.token);
    const res = await post('/function/deploy-and-expose', { chartName: 'iot-gateway', releaseName: 'rbac-gw', namespace: TENANT, privateChartsRepo: h.repo.url });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.body.error.details.rolledBack).toBe(true);
    expect(h.denied.map((d) => `${d.user} ${d.verb} ${d.resource} ${d.namespace}/${d.name}`)).toContain(
      `${serviceAccountUser('openfaas-fn', 'helm-deployer-ingress')} update gateways ${GATEWAYS}/${GATEWAY_DEFAULTS.names[0]}`,
    );
    gatewayCleared(h);
    expect(releaseSecrets(h.cluster, TENANT, 'rbac-gw')).toEqual([]);
  });

  test('gateway-api with GATEWAY_ROUTE_NAMESPACE=gateway: without create on ReferenceGrants the rule is refused and undone', async () => {
    const objects = withoutRule(proGatewayManifests(), 'ClusterRole', 'helm-deployer-gateway-referencegrants', 'referencegrants', 'create');
    const h = await start(objects, proAccount, { seed: gatewaySeed(), env: gatewayEnv('gateway') });
    const post = caller(h.gateway.url, h.auth.token);
    const res = await post('/function/deploy-and-expose', { chartName: 'iot-gateway', releaseName: 'rbac-rg', namespace: TENANT, privateChartsRepo: h.repo.url });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.body.error.details.rolledBack).toBe(true);
    expect(h.denied.map((d) => `${d.user} ${d.verb} ${d.resource} ${d.namespace}`)).toContain(
      `${serviceAccountUser('openfaas-fn', 'helm-deployer-ingress')} create referencegrants ${TENANT}`,
    );
    gatewayCleared(h);
    expect(releaseSecrets(h.cluster, TENANT, 'rbac-rg')).toEqual([]);
  });
});
