// Shapes exchanged with the sibling functions (their answers) and answered by the orchestrators,
// and the options every orchestration takes.
import type { Logger } from 'pino';
import type { SiblingClient } from './sibling-client.js';

export interface OrchestrationOptions<T> {
  client: SiblingClient;
  input: T;
  /** Default helm timeout when the input has none (config.helmTimeoutSeconds). */
  helmTimeoutSeconds: number;
  log?: Logger;
}

export type Protocol = 'tcp' | 'udp';

export interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
  targetPort?: number | string;
}

/** A Service of a release, as the helm function reports it (install and status answers). */
export interface ReleaseService {
  name: string;
  namespace: string;
  type?: string;
  ports: ServicePort[];
}

export interface HelmInstallAnswer {
  releaseName: string;
  namespace: string;
  created: boolean;
  services?: ReleaseService[];
  [key: string]: unknown;
}

export interface HelmStatusAnswer {
  releaseName: string;
  namespace: string;
  services?: ReleaseService[];
  [key: string]: unknown;
}

export interface HelmUninstallAnswer {
  releaseName: string;
  namespace: string;
  uninstalled: boolean;
}

/** One ingress rule as the ingress-rule function answers /create. */
export interface RuleAnswer {
  ip: string;
  port: number;
  protocol: Protocol;
  serviceName: string;
  servicePort: number;
  namespace: string;
  releaseName?: string;
  created: boolean;
  notice?: string;
}

export interface Endpoint {
  ip: string;
  port: number;
  protocol: Protocol;
  serviceName: string;
  servicePort: number;
  /** Passed on from ingress-rule: the rule could not go where it normally would (a full Gateway). */
  notice?: string;
}

/** A Service port to expose: the target of one ingress rule. */
export interface ExposeTarget {
  namespace: string;
  serviceName: string;
  servicePort: number;
  protocol: Protocol;
}

export interface ExposeOptions {
  serviceName?: string;
  servicePort?: number;
  protocol?: Protocol;
  lbip?: string;
  port?: number;
}

export interface DeployAndExposeInput {
  chartName: string;
  releaseName?: string;
  namespace?: string;
  timeout?: string | number;
  expose?: ExposeOptions;
  [key: string]: unknown;
}

export interface DeployAndExposeAnswer {
  releaseName: string;
  namespace: string;
  created: boolean;
  endpoints: Endpoint[];
}

export interface UndeployInput {
  releaseName: string;
  namespace?: string;
}

export interface UndeployAnswer {
  releaseName: string;
  namespace: string;
  removedEndpoints: Endpoint[];
  uninstalled: boolean;
}
