// End to end through the dev gateway with EXPOSURE_BACKEND=gateway-api, as
// `EXPOSURE_BACKEND=gateway-api npm start` runs it: the emulated cluster serves a labelled Gateway,
// deploy-and-expose and undeploy call the helm and ingress-rule functions over HTTP, and the rules
// are listeners on that Gateway plus TCPRoutes/UDPRoutes, not ingress-nginx ConfigMap entries.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Cluster } from '../../dev/cluster/index.js';
import { startDevStack, type DevStack } from '../../dev/dev-stack.js';
import { GATEWAY_DEFAULTS } from '../../dev/gateway-fixture.js';
import { BASE_PORTS, caller, controllerPorts, gatewayRoutes, releaseSecrets, ruleEntries, sharedGateway, type Answer } from './e2e-helpers.js';

let stack: DevStack;
let cluster: Cluster;
let post: (path: string, body?: unknown) => Promise<Answer>;

beforeAll(async () => {
  stack = await startDevStack({
    env: {
      ...process.env,
      USE_EMBEDDED_CLUSTER: '1',
      LOG_LEVEL: 'silent',
      PORT_RANGE: '24000-24999',
      HELM_TIMEOUT_SECONDS: '30',
      EXPOSURE_BACKEND: 'gateway-api',
    },
  });
  cluster = stack.cluster!;
  post = caller(stack.gateway.url, stack.auth.token);
});

afterAll(async () => {
  await stack?.close();
});

test('deploy-and-expose adds a listener per port to the Gateway and a TCPRoute/UDPRoute; undeploy removes them', async () => {
  expect(stack.gatewayApi).toEqual({ namespace: GATEWAY_DEFAULTS.namespace, name: GATEWAY_DEFAULTS.names[0], label: GATEWAY_DEFAULTS.label, ip: expect.any(String) });
  const ip = stack.gatewayApi!.ip;
  expect(sharedGateway(cluster).status.addresses[0].value).toBe(ip);

  const res = await post('/function/deploy-and-expose', { chartName: 'iot-gateway', releaseName: 'e2e-gw', namespace: 'tenant-a', privateChartsRepo: stack.repo.url });
  expect(res.status).toBe(201);
  expect(res.body.endpoints).toEqual([
    { ip, port: 24000, protocol: 'tcp', serviceName: 'e2e-gw', servicePort: 1883 },
    { ip, port: 24000, protocol: 'udp', serviceName: 'e2e-gw', servicePort: 5683 },
  ]);

  const gateway = sharedGateway(cluster);
  expect(gateway.spec.listeners.map((l) => `${l.name} ${l.port}/${l.protocol}`)).toEqual(['http 80/HTTP', 'tcp-24000 24000/TCP', 'udp-24000 24000/UDP']);
  expect(gateway.metadata.annotations).toEqual({
    'rules.helm-deployer.openfaas.com/tcp-24000': 'tenant-a/e2e-gw:1883',
    'rules.helm-deployer.openfaas.com/udp-24000': 'tenant-a/e2e-gw:5683',
  });
  // The emulated Gateway controller attached each route to its listener.
  expect(gateway.status.listeners?.map((l) => `${l.name} ${l.attachedRoutes}`)).toEqual(['http 0', 'tcp-24000 1', 'udp-24000 1']);
  expect(
    gatewayRoutes(cluster).map((r) => ({
      route: `${r.kind} ${r.metadata.namespace}/${r.metadata.name}`,
      parent: r.spec.parentRefs.map((p) => `${p.namespace}/${p.name}#${p.sectionName}`),
      backend: r.spec.rules.flatMap((rule) => rule.backendRefs.map((b) => `${b.name}:${b.port}`)),
    })),
  ).toEqual([
    { route: 'TCPRoute tenant-a/gateway-tcp-24000', parent: ['gateway-system/gateway#tcp-24000'], backend: ['e2e-gw:1883'] },
    { route: 'UDPRoute tenant-a/gateway-udp-24000', parent: ['gateway-system/gateway#udp-24000'], backend: ['e2e-gw:5683'] },
  ]);
  // The ingress-nginx objects the emulator also serves are not used.
  expect([ruleEntries(cluster, 'tcp'), ruleEntries(cluster, 'udp'), controllerPorts(cluster)]).toEqual([{}, {}, BASE_PORTS]);

  const lookup = await post('/function/port-lookup', { protocol: 'tcp' });
  expect(lookup.body).toEqual({ ip, port: 24001, protocol: 'tcp' });

  const undeployed = await post('/function/undeploy', { releaseName: 'e2e-gw', namespace: 'tenant-a' });
  expect([undeployed.status, undeployed.body]).toEqual([
    200,
    { releaseName: 'e2e-gw', namespace: 'tenant-a', removedEndpoints: res.body.endpoints, uninstalled: true },
  ]);
  const after = sharedGateway(cluster);
  expect([after.spec.listeners.map((l) => l.name), after.metadata.annotations ?? {}]).toEqual([['http'], {}]);
  expect(gatewayRoutes(cluster)).toEqual([]);
  expect(releaseSecrets(cluster, 'tenant-a', 'e2e-gw')).toEqual([]);
});
