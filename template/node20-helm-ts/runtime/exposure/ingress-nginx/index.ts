// The ingress-nginx exposure backend: a rule is an entry in the controller's tcp/udp services
// ConfigMap plus the port on its LoadBalancer Service. One instance per process (per
// configuration), so that concurrent requests share one ConfigMap writer and one Service sync and
// their writes coalesce.
import type { CoreV1Api } from '@kubernetes/client-node';
import type { RuntimeConfig } from '../../config.js';
import { makeCoreV1Api, type RetryOptions } from '../../kube.js';
import { claimPort } from './claim.js';
import { createConfigMapWriter, type CasOptions, type ConfigMapWriter } from './configmap-writer.js';
import type { IngressConfig, IngressDeps } from './deps.js';
import type { ExposureBackend } from '../backend.js';
import { createIngressKube, type IngressKube } from './kube-api.js';
import { repair } from './repair.js';
import { deleteRules, listRules, lookupPort } from './rules.js';
import { createServiceSync } from './service-sync.js';

export interface Ingress extends ExposureBackend {
  readonly name: 'ingress-nginx';
  readonly kube: IngressKube;
  /** The ConfigMap writer shared by this instance's operations (its stats count CAS retries). */
  readonly writer: ConfigMapWriter;
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
    name: 'ingress-nginx',
    kube,
    writer: deps.writer,
    lookup: (request) => lookupPort(deps, request),
    claim: (request) => claimPort(deps, request),
    remove: (request) => deleteRules(deps, request),
    list: (request) => listRules(deps, request),
    repair: (request) => repair(deps, request),
  };
}
