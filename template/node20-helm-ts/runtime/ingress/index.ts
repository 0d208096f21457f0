// The ingress rule service: one instance per process (per configuration), so that concurrent
// requests share one ConfigMap writer and one Service sync and their writes coalesce.
import type { CoreV1Api } from '@kubernetes/client-node';
import type { RuntimeConfig } from '../config.js';
import { makeCoreV1Api, type RetryOptions } from '../kube.js';
import { claimPort, type ClaimRequest, type ClaimResult } from './claim.js';
import { createConfigMapWriter, type CasOptions } from './configmap-writer.js';
import type { IngressConfig, IngressDeps } from './deps.js';
import type { Protocol, Rule } from './entries.js';
import { createIngressKube, type IngressKube } from './kube-api.js';
import { repair, type RepairResult } from './repair.js';
import { deleteRules, listRules, lookupPort, type DeleteRequest } from './rules.js';
import { createServiceSync } from './service-sync.js';

export type { ClaimRequest, ClaimResult } from './claim.js';
export type { DeleteRequest } from './rules.js';
export type { RepairResult } from './repair.js';
export type { Protocol, Rule, Target } from './entries.js';

export interface Ingress {
  lookup(request: { protocol: Protocol; lbip?: string }): Promise<{ ip: string; port: number; protocol: Protocol }>;
  claim(request: ClaimRequest): Promise<ClaimResult>;
  remove(request: DeleteRequest): Promise<Rule[]>;
  list(request?: { lbip?: string }): Promise<Rule[]>;
  repair(request?: { dryRun?: boolean }): Promise<RepairResult>;
  readonly kube: IngressKube;
}

export interface IngressOptions {
  config: IngressConfig & Pick<RuntimeConfig, 'kubeconfig'>;
  /** Defaults to a CoreV1Api built from config.kubeconfig (or the default chain). */
  api?: CoreV1Api;
  retry?: RetryOptions;
  cas?: CasOptions;
  /** Batch concurrent writes to the same ConfigMap/Service (default). false: one CAS loop per call. */
  coalesce?: boolean;
}

export function createIngress({ config, api, retry, cas, coalesce = true }: IngressOptions): Ingress {
  const kube = createIngressKube({ api: api ?? makeCoreV1Api(config), retry, shareLists: coalesce });
  const deps: IngressDeps = {
    kube,
    config,
    writer: createConfigMapWriter({ kube, coalesce, cas }),
    sync: createServiceSync({ kube, coalesce, cas }),
  };
  return {
    kube,
    lookup: (request) => lookupPort(deps, request),
    claim: (request) => claimPort(deps, request),
    remove: (request) => deleteRules(deps, request),
    list: (request) => listRules(deps, request),
    repair: (request) => repair(deps, request),
  };
}

const shared = new Map<string, Ingress>();

/** The process-wide instance for this configuration (handlers call this on every request). */
export function sharedIngress(config: IngressOptions['config']): Ingress {
  const key = JSON.stringify([
    config.kubeconfig,
    config.loadBalancerNamespace,
    config.ingressLabel,
    config.tcpServicesConfigMap,
    config.udpServicesConfigMap,
    config.portRange,
  ]);
  let ingress = shared.get(key);
  if (!ingress) shared.set(key, (ingress = createIngress({ config })));
  return ingress;
}
