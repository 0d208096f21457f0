// The exposure backend of this process, chosen by configuration (EXPOSURE_BACKEND). One instance per
// configuration, so that concurrent requests share its writers and their writes coalesce.
import type { RuntimeConfig } from '../config.js';
import type { ExposureBackend } from './backend.js';
import { createGatewayBackend } from './gateway-api/index.js';
import { createIngress } from './ingress-nginx/index.js';

export * from './backend.js';

export type ExposureConfig = Pick<
  RuntimeConfig,
  | 'exposureBackend'
  | 'kubeconfig'
  | 'loadBalancerNamespace'
  | 'ingressLabel'
  | 'tcpServicesConfigMap'
  | 'udpServicesConfigMap'
  | 'portRange'
  | 'gatewayRouteNamespace'
>;

export function createExposure(config: ExposureConfig): ExposureBackend {
  return config.exposureBackend === 'gateway-api' ? createGatewayBackend({ config }) : createIngress({ config });
}

const shared = new Map<string, ExposureBackend>();

/** The process-wide backend for this configuration (handlers call this on every request). */
export function sharedExposure(config: ExposureConfig): ExposureBackend {
  const key = JSON.stringify([
    config.exposureBackend,
    config.kubeconfig,
    config.loadBalancerNamespace,
    config.ingressLabel,
    config.tcpServicesConfigMap,
    config.udpServicesConfigMap,
    config.portRange,
    config.gatewayRouteNamespace,
  ]);
  let backend = shared.get(key);
  if (!backend) shared.set(key, (backend = createExposure(config)));
  return backend;
}
