// Compare-and-swap writes to the tcp/udp services ConfigMaps, optionally coalesced (see
// ../cas-writer.ts): the edits work on the ConfigMap's data; a missing ConfigMap is created.
import type { V1ConfigMap } from '@kubernetes/client-node';
import { createCasWriter, type CasOp, type CasOptions, type CasWriter } from '../cas-writer.js';
import type { IngressKube } from './kube-api.js';

export type { CasOptions } from '../cas-writer.js';

/** Reads and edits the ConfigMap's data in place; must not edit it before throwing. */
export type ConfigMapOp<R> = CasOp<Record<string, string>, R>;

export type ConfigMapWriter = CasWriter<V1ConfigMap, Record<string, string>>;

function sameData(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

function sortedData(data: Record<string, string>): Record<string, string> {
  const keys = Object.keys(data).sort((x, y) => Number(x) - Number(y) || x.localeCompare(y));
  return Object.fromEntries(keys.map((k) => [k, data[k]]));
}

export function createConfigMapWriter({
  kube,
  coalesce = true,
  cas,
}: {
  kube: IngressKube;
  coalesce?: boolean;
  cas?: CasOptions;
}): ConfigMapWriter {
  return createCasWriter<V1ConfigMap, Record<string, string>>(
    {
      kind: 'ConfigMap',
      read: (ref) => kube.readConfigMap(ref),
      state: (current) => ({ ...(current?.data ?? {}) }),
      same: sameData,
      write: (ref, current, data) =>
        current
          ? kube.replaceConfigMap(ref, { ...current, data: sortedData(data) })
          : kube.createConfigMap(ref, {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name: ref.name, namespace: ref.namespace },
              data: sortedData(data),
            }),
    },
    { coalesce, cas },
  );
}
