// The Gateway API exposure backend: shared Gateways selected by namespace and label, a listener per
// claimed port, and a TCPRoute/UDPRoute per rule. One instance per process (per configuration), so
// that concurrent requests share one Gateway writer and their writes coalesce.
import { CoreV1Api } from '@kubernetes/client-node';
import type { RuntimeConfig } from '../../config.js';
import { FunctionError } from '../../errors.js';
import { loadKubeConfig, type RetryOptions } from '../../kube.js';
import type { ExposureBackend } from '../backend.js';
import { createCasWriter, type CasOptions, type CasWriter } from '../cas-writer.js';
import { claimRule } from './claim.js';
import type { GatewayConfig, GatewayDeps } from './deps.js';
import { createGatewayKube, type Gateway, type GatewayKube } from './kube-api.js';
import { sameState, stateOf, type GatewayState } from './listeners.js';
import { repairGateways } from './repair.js';
import { deleteRules, listRules, lookupPort } from './rules.js';

export interface GatewayBackend extends ExposureBackend {
  readonly name: 'gateway-api';
  readonly kube: GatewayKube;
  /** The Gateway writer shared by this instance's operations (its stats count CAS retries). */
  readonly writer: CasWriter<Gateway, GatewayState>;
}

export interface GatewayBackendOptions {
  config: GatewayConfig & Pick<RuntimeConfig, 'kubeconfig'>;
  retry?: RetryOptions;
  cas?: CasOptions;
  /** Batch concurrent writes to the same Gateway (default). false: one CAS loop per call. */
  coalesce?: boolean;
}

export function createGatewayBackend({ config, retry, cas, coalesce = true }: GatewayBackendOptions): GatewayBackend {
  const kc = loadKubeConfig(config);
  const core = kc.makeApiClient(CoreV1Api);
  const kube = createGatewayKube({ kc, core, retry, shareLists: coalesce });
  const writer = createCasWriter(
    {
      kind: 'Gateway',
      // The Gateway's controller rewrites its status (attachedRoutes) as each new route attaches.
      chain: false,
      read: (ref) => kube.readGateway(ref),
      state: stateOf,
      same: sameState,
      write: async (ref, current, next) => {
        if (!current) throw new FunctionError('INGRESS_CONTROLLER_NOT_FOUND', `Gateway ${ref.namespace}/${ref.name} was deleted`, { gateway: ref });
        return kube.replaceGateway(ref, {
          ...current,
          metadata: { ...current.metadata, annotations: next.annotations },
          spec: { ...current.spec, listeners: next.listeners },
        });
      },
    },
    { coalesce, cas },
  );
  const deps: GatewayDeps = { kube, config, writer };
  return {
    name: 'gateway-api',
    kube,
    writer,
    lookup: (request) => lookupPort(deps, request),
    claim: (request) => claimRule(deps, request),
    remove: (request) => deleteRules(deps, request),
    list: (request) => listRules(deps, request),
    repair: (request) => repairGateways(deps, request),
  };
}
