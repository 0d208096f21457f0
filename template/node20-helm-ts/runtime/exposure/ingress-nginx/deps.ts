import type { RuntimeConfig } from '../../config.js';
import type { ConfigMapWriter } from './configmap-writer.js';
import type { IngressKube } from './kube-api.js';
import type { ServiceSync } from './service-sync.js';

export type IngressConfig = Pick<
  RuntimeConfig,
  'loadBalancerNamespace' | 'ingressLabel' | 'tcpServicesConfigMap' | 'udpServicesConfigMap' | 'portRange'
>;

/** What every ingress operation works with; one set per process so that writes coalesce. */
export interface IngressDeps {
  kube: IngressKube;
  config: IngressConfig;
  writer: ConfigMapWriter;
  sync: ServiceSync;
}
