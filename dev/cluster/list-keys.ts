/**
 * How lists of built-in Kubernetes types merge, for strategic merge patch and server-side apply.
 *
 * The real apiserver reads this from Go struct tags and OpenAPI schemas (`patchMergeKey`,
 * `listType`, `listMapKey`). The emulator has no schemas, so a list is identified by the names of
 * the map keys leading to it (list indices are not part of the path): a rule matches when the path
 * ends with its `suffix`, or equals it when `anchored`. Lists no rule matches are atomic (replaced
 * as a whole), which is also what the apiserver does for untagged lists.
 *
 * `patchKey` is the strategic-merge key. `keys` are the server-side-apply map keys, which for
 * ports include the protocol (defaulted to TCP): strategic merge patch matches Service ports by
 * `port` alone, so a patch with a UDP port merges into a TCP entry of the same number, exactly as
 * on a real cluster; use server-side apply or a JSON patch to keep both.
 */

export interface MapListStrategy {
  readonly type: 'map';
  readonly patchKey: string;
  readonly keys: readonly string[];
  /** Values the apiserver defaults before comparing keys (e.g. protocol: TCP). */
  readonly defaults?: Readonly<Record<string, unknown>>;
}

export type ListStrategy = MapListStrategy | { readonly type: 'set' } | { readonly type: 'atomic' };

interface Rule {
  readonly suffix: readonly string[];
  readonly anchored?: boolean;
  readonly strategy: ListStrategy;
}

const byName: MapListStrategy = { type: 'map', patchKey: 'name', keys: ['name'] };
const TCP = { protocol: 'TCP' } as const;
const CONTAINER_LISTS = ['containers', 'initContainers', 'ephemeralContainers'] as const;

const RULES: readonly Rule[] = [
  // Service
  {
    suffix: ['spec', 'ports'],
    anchored: true,
    strategy: { type: 'map', patchKey: 'port', keys: ['port', 'protocol'], defaults: TCP },
  },
  // ServiceAccount
  { suffix: ['secrets'], anchored: true, strategy: byName },
  // ObjectMeta (top level and pod templates)
  { suffix: ['metadata', 'ownerReferences'], strategy: { type: 'map', patchKey: 'uid', keys: ['uid'] } },
  { suffix: ['metadata', 'finalizers'], strategy: { type: 'set' } },
  // PodSpec
  ...CONTAINER_LISTS.flatMap((list): Rule[] => [
    { suffix: [list], strategy: byName },
    {
      suffix: [list, 'ports'],
      strategy: { type: 'map', patchKey: 'containerPort', keys: ['containerPort', 'protocol'], defaults: TCP },
    },
    { suffix: [list, 'env'], strategy: byName },
    { suffix: [list, 'volumeMounts'], strategy: { type: 'map', patchKey: 'mountPath', keys: ['mountPath'] } },
    { suffix: [list, 'volumeDevices'], strategy: { type: 'map', patchKey: 'devicePath', keys: ['devicePath'] } },
  ]),
  { suffix: ['volumes'], strategy: byName },
  { suffix: ['imagePullSecrets'], strategy: byName },
  { suffix: ['hostAliases'], strategy: { type: 'map', patchKey: 'ip', keys: ['ip'] } },
  { suffix: ['resourceClaims'], strategy: byName },
  { suffix: ['schedulingGates'], strategy: byName },
  {
    suffix: ['topologySpreadConstraints'],
    strategy: { type: 'map', patchKey: 'topologyKey', keys: ['topologyKey', 'whenUnsatisfiable'] },
  },
  // Conditions of every built-in status
  { suffix: ['status', 'conditions'], strategy: { type: 'map', patchKey: 'type', keys: ['type'] } },
];

const ATOMIC: ListStrategy = { type: 'atomic' };

function matches(rule: Rule, path: readonly string[]): boolean {
  const { suffix } = rule;
  if (rule.anchored && path.length !== suffix.length) return false;
  if (path.length < suffix.length) return false;
  const offset = path.length - suffix.length;
  return suffix.every((name, i) => path[offset + i] === name);
}

/** The merge strategy for the list found at `path` (map keys from the object root). */
export function listStrategy(path: readonly string[]): ListStrategy {
  return RULES.find((rule) => matches(rule, path))?.strategy ?? ATOMIC;
}
