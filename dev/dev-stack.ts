// Everything `npm start` runs, as one call tests can make too: a Kubernetes API (the user's
// kubeconfig, or the in-memory emulator with an ingress-nginx controller, and with
// EXPOSURE_BACKEND=gateway-api a labelled Gateway too), a local chart repository, an auth token,
// and the gateway serving every function.
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '#runtime/config.js';
import { startChartRepo, type ChartRepo, type ChartSpec } from './chart-repo.js';
import { startCluster, type Cluster, type StartClusterOptions } from './cluster/index.js';
import { GATEWAY_DEFAULTS, gatewayObjects } from './gateway-fixture.js';
import { startGateway, type Gateway } from './gateway.js';
import { INGRESS_DEFAULTS, ingressControllerObjects } from './ingress-fixture.js';
import { writeKubeconfigs, type KubeconfigSet } from './kubeconfig.js';
import { setupAuthToken, type AuthToken } from './token.js';

export interface DevStackOptions {
  /** Environment of the functions and of the choice of cluster; default process.env. */
  env?: NodeJS.ProcessEnv;
  port?: number;
  host?: string;
  /** Charts served by the local repository; default the iot-gateway demo chart. */
  charts?: ChartSpec[];
  /** Extra emulator options (authorize, lbIpPool, seed objects added after the ingress controller). */
  cluster?: Pick<StartClusterOptions, 'authorize' | 'lbIpPool' | 'seed'>;
  /** Per-function environment (e.g. a KUBECONFIG per ServiceAccount). */
  functionEnv?: Record<string, NodeJS.ProcessEnv>;
}

export interface DevStack {
  gateway: Gateway;
  repo: ChartRepo;
  auth: AuthToken;
  /** The emulator, when no external kubeconfig is used. */
  cluster?: Cluster;
  /** The kubeconfig the functions use. */
  kubeconfig: string;
  ingress: { namespace: string; serviceName: string; ip?: string };
  /** With EXPOSURE_BACKEND=gateway-api on the emulator: the Gateway the functions make rules on. */
  gatewayApi?: { namespace: string; name: string; label: string; ip?: string };
  close(): Promise<void>;
}

/** The user's kubeconfig (KUBECONFIG, else ~/.kube/config), unless USE_EMBEDDED_CLUSTER is set. */
export function externalKubeconfig(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.USE_EMBEDDED_CLUSTER && !['0', 'false', 'no'].includes(env.USE_EMBEDDED_CLUSTER.toLowerCase())) return undefined;
  if (env.KUBECONFIG) return env.KUBECONFIG;
  const home = env.HOME || os.homedir();
  const file = path.join(home, '.kube', 'config');
  return existsSync(file) ? file : undefined;
}

export async function startDevStack(options: DevStackOptions = {}): Promise<DevStack> {
  const env = options.env ?? process.env;
  const cleanups: (() => Promise<void> | void)[] = [];
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      for (const step of cleanups.reverse()) await step();
    })());
  try {
    let kubeconfig = externalKubeconfig(env);
    const emulated = !kubeconfig;
    const gatewayApi = emulated && loadConfig(env).exposureBackend === 'gateway-api';
    // gateway-api on the emulator: LoadBalancerNamespace/IngressLabel name the Gateways, those of the
    // fixture unless set; the ingress-nginx objects stay where ingress-nginx's defaults put them.
    const gatewayEnv: NodeJS.ProcessEnv = gatewayApi
      ? {
          LoadBalancerNamespace: env.LoadBalancerNamespace || env.LOAD_BALANCER_NAMESPACE || GATEWAY_DEFAULTS.namespace,
          IngressLabel: env.IngressLabel || env.INGRESS_LABEL || GATEWAY_DEFAULTS.label,
        }
      : {};
    const config = loadConfig({ ...env, ...gatewayEnv });
    const ingressNamespace = gatewayApi ? INGRESS_DEFAULTS.namespace : config.loadBalancerNamespace;
    let cluster: Cluster | undefined;
    let kubeconfigs: KubeconfigSet | undefined;
    if (!kubeconfig) {
      const gatewaySeed = gatewayApi
        ? [
            ...(config.loadBalancerNamespace === ingressNamespace ? [] : [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: config.loadBalancerNamespace } }]),
            ...gatewayObjects({ namespace: config.loadBalancerNamespace, label: config.ingressLabel }),
          ]
        : [];
      cluster = await startCluster({
        ...options.cluster,
        seed: [
          // The Gateway first: it gets the first address of the pool.
          ...gatewaySeed,
          ...ingressControllerObjects({
            namespace: ingressNamespace,
            label: gatewayApi ? INGRESS_DEFAULTS.label : config.ingressLabel,
            tcpConfigMap: config.tcpServicesConfigMap,
            udpConfigMap: config.udpServicesConfigMap,
          }),
          ...(options.cluster?.seed ?? []),
        ],
      });
      const running = cluster;
      cleanups.push(() => running.stop());
      kubeconfigs = writeKubeconfigs(cluster.url, ['admin']);
      cleanups.push(kubeconfigs.cleanup);
      kubeconfig = kubeconfigs.paths.admin;
    }
    const repo = await startChartRepo({ charts: options.charts });
    cleanups.push(() => repo.close());
    const auth = setupAuthToken({ token: env.HELM_DEPLOYER_TOKEN || undefined });
    cleanups.push(auth.cleanup);
    const gateway = await startGateway({
      port: options.port,
      host: options.host,
      functionEnv: options.functionEnv,
      env: {
        ...env,
        ...gatewayEnv,
        ...auth.env,
        KUBECONFIG: kubeconfig,
        // The local chart repository is on 127.0.0.1.
        ALLOW_PRIVATE_REPO_HOSTS: env.ALLOW_PRIVATE_REPO_HOSTS ?? 'true',
        // As in stack.yml.
        PORT_RANGE: env.PORT_RANGE ?? '20000-30000',
      },
    });
    cleanups.push(() => gateway.close());
    const controller = cluster?.store.get({ resource: 'services', namespace: ingressNamespace, name: INGRESS_DEFAULTS.serviceName }) as
      | { status?: { loadBalancer?: { ingress?: { ip?: string }[] } } }
      | undefined;
    const gatewayName = GATEWAY_DEFAULTS.names[0];
    const sharedGateway = gatewayApi
      ? (cluster?.store.get({ group: 'gateway.networking.k8s.io', resource: 'gateways', namespace: config.loadBalancerNamespace, name: gatewayName }) as
          | { status?: { addresses?: { value?: string }[] } }
          | undefined)
      : undefined;
    return {
      gateway,
      repo,
      auth,
      cluster,
      kubeconfig,
      ingress: { namespace: ingressNamespace, serviceName: INGRESS_DEFAULTS.serviceName, ip: controller?.status?.loadBalancer?.ingress?.[0]?.ip },
      ...(gatewayApi && {
        gatewayApi: {
          namespace: config.loadBalancerNamespace,
          name: gatewayName,
          label: config.ingressLabel,
          ip: sharedGateway?.status?.addresses?.[0]?.value,
        },
      }),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
