import type { RuntimeConfig } from '../../config.js';
import type { CasWriter } from '../cas-writer.js';
import type { Gateway, GatewayKube } from './kube-api.js';
import type { GatewayState } from './listeners.js';

export type GatewayConfig = Pick<RuntimeConfig, 'loadBalancerNamespace' | 'ingressLabel' | 'portRange' | 'gatewayRouteNamespace'>;

/** What every Gateway API operation works with; one set per process so that writes coalesce. */
export interface GatewayDeps {
  kube: GatewayKube;
  config: GatewayConfig;
  writer: CasWriter<Gateway, GatewayState>;
}
