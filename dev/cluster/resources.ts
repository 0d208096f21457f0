/**
 * The resource types the emulator serves: what discovery advertises and how each type behaves
 * (scope, status subresource, whether `metadata.generation` is maintained).
 * CustomResourceDefinitions add types at runtime through {@link ResourceRegistry.registerCrd}.
 */

export interface ResourceType {
  /** API group, `''` for the core group. */
  group: string;
  /** Served versions, preferred (and storage) version first. */
  versions: string[];
  /** Plural name used in URLs. */
  resource: string;
  kind: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** Has a `/status` subresource: the main resource ignores status, `/status` ignores the rest. */
  status: boolean;
  /** Maintains `metadata.generation` (bumped on changes outside metadata and status). */
  generation: boolean;
  /**
   * Served as a custom resource: created from a CustomResourceDefinition, or one of the Gateway
   * API types, which a real cluster gets from CRDs (so no strategic merge patch, and DELETE
   * answers with the object).
   */
  custom: boolean;
}

const allVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

interface Spec {
  resource: string;
  kind: string;
  namespaced?: boolean;
  shortNames?: string[];
  categories?: string[];
  status?: boolean;
  generation?: boolean;
  verbs?: string[];
}

function define(group: string, versions: string[], specs: Spec[], custom = false): ResourceType[] {
  return specs.map((s) => ({
    group,
    versions,
    resource: s.resource,
    kind: s.kind,
    singular: s.kind.toLowerCase(),
    namespaced: s.namespaced ?? true,
    shortNames: s.shortNames ?? [],
    categories: s.categories ?? [],
    verbs: s.verbs ?? allVerbs,
    status: s.status ?? false,
    generation: s.generation ?? false,
    custom,
  }));
}

export const gatewayGroup = 'gateway.networking.k8s.io';
const gatewayCategories = ['gateway-api'];
const gatewayRouteVersions = ['v1', 'v1alpha2'];

/** Built-in types, grouped in the order the real server lists its groups. */
export const builtinTypes: ResourceType[] = [
  ...define('', ['v1'], [
    { resource: 'configmaps', kind: 'ConfigMap', shortNames: ['cm'] },
    { resource: 'endpoints', kind: 'Endpoints', shortNames: ['ep'] },
    { resource: 'events', kind: 'Event', shortNames: ['ev'] },
    { resource: 'namespaces', kind: 'Namespace', namespaced: false, shortNames: ['ns'], status: true, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
    { resource: 'persistentvolumeclaims', kind: 'PersistentVolumeClaim', shortNames: ['pvc'], status: true },
    { resource: 'pods', kind: 'Pod', shortNames: ['po'], categories: ['all'], status: true, generation: true },
    { resource: 'secrets', kind: 'Secret' },
    { resource: 'serviceaccounts', kind: 'ServiceAccount', shortNames: ['sa'] },
    { resource: 'services', kind: 'Service', shortNames: ['svc'], categories: ['all'], status: true },
  ]),
  ...define('apps', ['v1'], [
    { resource: 'daemonsets', kind: 'DaemonSet', shortNames: ['ds'], categories: ['all'], status: true, generation: true },
    { resource: 'deployments', kind: 'Deployment', shortNames: ['deploy'], categories: ['all'], status: true, generation: true },
    { resource: 'replicasets', kind: 'ReplicaSet', shortNames: ['rs'], categories: ['all'], status: true, generation: true },
    { resource: 'statefulsets', kind: 'StatefulSet', shortNames: ['sts'], categories: ['all'], status: true, generation: true },
  ]),
  ...define('batch', ['v1'], [
    { resource: 'cronjobs', kind: 'CronJob', shortNames: ['cj'], categories: ['all'], status: true, generation: true },
    { resource: 'jobs', kind: 'Job', categories: ['all'], status: true, generation: true },
  ]),
  ...define('networking.k8s.io', ['v1'], [
    { resource: 'ingressclasses', kind: 'IngressClass', namespaced: false, generation: true },
    { resource: 'ingresses', kind: 'Ingress', shortNames: ['ing'], status: true, generation: true },
    { resource: 'networkpolicies', kind: 'NetworkPolicy', shortNames: ['netpol'], generation: true },
  ]),
  ...define('rbac.authorization.k8s.io', ['v1'], [
    { resource: 'clusterrolebindings', kind: 'ClusterRoleBinding', namespaced: false },
    { resource: 'clusterroles', kind: 'ClusterRole', namespaced: false },
    { resource: 'rolebindings', kind: 'RoleBinding' },
    { resource: 'roles', kind: 'Role' },
  ]),
  ...define('policy', ['v1'], [
    { resource: 'poddisruptionbudgets', kind: 'PodDisruptionBudget', shortNames: ['pdb'], status: true, generation: true },
  ]),
  ...define('autoscaling', ['v2'], [
    { resource: 'horizontalpodautoscalers', kind: 'HorizontalPodAutoscaler', shortNames: ['hpa'], categories: ['all'], status: true },
  ]),
  ...define('apiextensions.k8s.io', ['v1'], [
    { resource: 'customresourcedefinitions', kind: 'CustomResourceDefinition', namespaced: false, shortNames: ['crd', 'crds'], categories: ['api-extensions'], status: true, generation: true },
  ]),
  ...define(gatewayGroup, ['v1'], [
    { resource: 'gatewayclasses', kind: 'GatewayClass', namespaced: false, shortNames: ['gc'], categories: gatewayCategories, status: true, generation: true },
    { resource: 'gateways', kind: 'Gateway', shortNames: ['gtw'], categories: gatewayCategories, status: true, generation: true },
    { resource: 'httproutes', kind: 'HTTPRoute', categories: gatewayCategories, status: true, generation: true },
  ], true),
  // TCPRoute and UDPRoute are GA in v1 since Gateway API v1.6 and were v1alpha2 before: serve both
  // (an older cluster serves v1alpha2 only, see RegistryOptions.gatewayRouteVersions).
  ...define(gatewayGroup, gatewayRouteVersions, [
    { resource: 'tcproutes', kind: 'TCPRoute', categories: gatewayCategories, status: true, generation: true },
    { resource: 'udproutes', kind: 'UDPRoute', categories: gatewayCategories, status: true, generation: true },
  ], true),
  ...define(gatewayGroup, ['v1', 'v1beta1'], [
    { resource: 'referencegrants', kind: 'ReferenceGrant', shortNames: ['refgrant'], categories: gatewayCategories, generation: true },
  ], true),
];

export interface RegistryOptions {
  /** Versions serving TCPRoute and UDPRoute (a subset of v1, v1alpha2); default both. */
  gatewayRouteVersions?: string[];
}

function withRouteVersions(types: ResourceType[], versions: string[] | undefined): ResourceType[] {
  if (versions === undefined) return [...types];
  const unknown = versions.filter((v) => !gatewayRouteVersions.includes(v));
  if (versions.length === 0 || unknown.length) {
    throw new Error(`gatewayApi.routeVersions must be a non-empty subset of ${gatewayRouteVersions.join(', ')}${unknown.length ? ` (not ${unknown.join(', ')})` : ''}`);
  }
  const served = sortVersions([...new Set(versions)]);
  return types.map((t) => (t.group === gatewayGroup && (t.resource === 'tcproutes' || t.resource === 'udproutes') ? { ...t, versions: served } : t));
}

export interface GroupInfo {
  name: string;
  /** Served versions, preferred first. */
  versions: string[];
}

/** Looks up resource types by URL segments, by kind, or by a loose reference; accepts CRD-defined types. */
export class ResourceRegistry {
  private readonly types: ResourceType[];

  constructor(options: RegistryOptions = {}) {
    this.types = withRouteVersions(builtinTypes, options.gatewayRouteVersions);
  }

  all(): ResourceType[] {
    return [...this.types];
  }

  /** Groups with their served versions, core first, then in registration order. */
  groups(): GroupInfo[] {
    const out = new Map<string, string[]>();
    for (const t of this.types) {
      const versions = out.get(t.group) ?? [];
      for (const v of t.versions) if (!versions.includes(v)) versions.push(v);
      out.set(t.group, versions);
    }
    return [...out].map(([name, versions]) => ({ name, versions: sortVersions(versions) }));
  }

  /** Types served at `group/version`. */
  typesIn(group: string, version: string): ResourceType[] {
    return this.types.filter((t) => t.group === group && t.versions.includes(version));
  }

  find(group: string, version: string, resource: string): ResourceType | undefined {
    return this.types.find((t) => t.group === group && t.resource === resource && t.versions.includes(version));
  }

  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    const { group, version } = splitApiVersion(apiVersion);
    return this.types.find((t) => t.group === group && t.kind === kind && t.versions.includes(version));
  }

  /**
   * Resolves a loose reference: `resource` may be the plural, the singular, a short name or the
   * kind; `group` narrows when given. Throws when the name is unknown or ambiguous.
   */
  resolve(ref: { group?: string; resource: string }): ResourceType {
    const name = ref.resource;
    const lower = name.toLowerCase();
    const matches = this.types.filter(
      (t) =>
        (ref.group === undefined || t.group === ref.group) &&
        (t.resource === lower || t.singular === lower || t.kind === name || t.shortNames.includes(lower)),
    );
    if (matches.length === 0) throw new Error(`unknown resource "${name}"${ref.group !== undefined ? ` in group "${ref.group}"` : ''}`);
    const groups = new Set(matches.map((t) => t.group));
    if (groups.size > 1) throw new Error(`resource "${name}" is ambiguous: give a group (${[...groups].join(', ')})`);
    return matches[0];
  }

  /** Registers (or replaces) the type a CustomResourceDefinition defines. */
  registerCrd(crd: Record<string, any>): ResourceType | undefined {
    const spec = crd.spec ?? {};
    const names = spec.names ?? {};
    if (!spec.group || !names.plural || !names.kind) return undefined;
    const versions: any[] = (spec.versions ?? []).filter((v: any) => v && v.served !== false && v.name);
    if (versions.length === 0) return undefined;
    this.unregisterCrd(crd);
    const type: ResourceType = {
      group: spec.group,
      versions: sortVersions(versions.map((v) => String(v.name))),
      resource: names.plural,
      kind: names.kind,
      singular: names.singular ?? String(names.kind).toLowerCase(),
      namespaced: spec.scope !== 'Cluster',
      shortNames: names.shortNames ?? [],
      categories: names.categories ?? [],
      verbs: allVerbs,
      status: versions.some((v) => v.subresources?.status !== undefined),
      generation: true,
      custom: true,
    };
    this.types.push(type);
    return type;
  }

  /** Removes the type a CustomResourceDefinition defined and returns it (undefined when there was none). */
  unregisterCrd(crd: Record<string, any>): ResourceType | undefined {
    const group = crd.spec?.group;
    const plural = crd.spec?.names?.plural;
    const index = this.types.findIndex((t) => t.custom && t.group === group && t.resource === plural);
    return index >= 0 ? this.types.splice(index, 1)[0] : undefined;
  }
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export function apiVersionOf(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

/** Kubernetes version priority: GA > beta > alpha, higher numbers first; other names last, alphabetically. */
export function sortVersions(versions: string[]): string[] {
  const rank = (v: string): [number, number, number, string] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [3, 0, 0, v];
    const stage = m[2] === undefined ? 0 : m[2] === 'beta' ? 1 : 2;
    return [stage, -Number(m[1]), -Number(m[3] ?? 0), v];
  };
  return [...versions].sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    for (let i = 0; i < 3; i++) if (ra[i] !== rb[i]) return (ra[i] as number) - (rb[i] as number);
    return ra[3] < rb[3] ? -1 : ra[3] > rb[3] ? 1 : 0;
  });
}
