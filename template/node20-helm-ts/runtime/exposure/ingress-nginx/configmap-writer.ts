// Compare-and-swap writes to the tcp/udp services ConfigMaps, optionally coalesced.
//
// One ConfigMap per controller and protocol is a hot object: with N claims racing, only one CAS
// write wins per round, so each claim retrying on its own costs O(N^2) requests. Coalesced, every
// operation waiting in this process for the same ConfigMap is rendered into one working copy and
// written once; on a 409 the whole batch (plus anything that arrived meanwhile) is re-rendered
// against the fresh object. Other replicas still race through the same CAS, so correctness never
// depends on the batching.
import type { V1ConfigMap } from '@kubernetes/client-node';
import { FunctionError } from '../../errors.js';
import { isAlreadyExists, isConflict } from '../../kube.js';
import { backoffDelay, sleep } from '../../backoff.js';
import type { IngressKube, ObjectRef } from './kube-api.js';

/**
 * Reads and edits the ConfigMap's data in place and returns its result, or throws a FunctionError
 * that fails only this operation. It must not edit `data` before throwing.
 */
export type ConfigMapOp<R> = (data: Record<string, string>) => R;

export interface CasOptions {
  /** Write rounds before giving up with CONFLICT. */
  attempts?: number;
  /** Full-jitter backoff between rounds. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  random?: () => number;
}

export const DEFAULT_CAS: Required<CasOptions> = { attempts: 20, baseDelayMs: 5, maxDelayMs: 250, random: Math.random };

export interface Written<R> {
  /** What the operation returned. */
  value: R;
  /**
   * The ConfigMap right after the round that applied the operation: the object written, or the one
   * read when nothing needed writing; undefined when it does not exist and nothing was written.
   */
  configMap?: V1ConfigMap;
}

/** CAS rounds per operation, for the benchmark. */
export interface WriterStats {
  /** Operations settled (done or failed). */
  operations: number;
  /** Rounds an operation took part in after its first (each follows a 409), summed over operations. */
  retries: number;
  /** The most such rounds of one operation. */
  maxRetries: number;
}

export interface ConfigMapWriter {
  submit<R>(ref: ObjectRef, op: ConfigMapOp<R>): Promise<Written<R>>;
  readonly stats: WriterStats;
}

interface Item {
  op: ConfigMapOp<unknown>;
  /** Rounds this operation took part in so far. */
  rounds: number;
  resolve(written: Written<unknown>): void;
  reject(err: unknown): void;
}

const key = (ref: ObjectRef) => `${ref.namespace}/${ref.name}`;

function sameData(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

function sortedData(data: Record<string, string>): Record<string, string> {
  const keys = Object.keys(data).sort((x, y) => Number(x) - Number(y) || x.localeCompare(y));
  return Object.fromEntries(keys.map((k) => [k, data[k]]));
}

/**
 * Renders `items` against the current ConfigMap and writes the result with its resourceVersion
 * (or creates the ConfigMap), re-reading and re-rendering on 409. `more` is polled before each
 * round to fold in operations that arrived meanwhile. `settled` is told each operation's rounds.
 */
async function runRounds(
  kube: IngressKube,
  ref: ObjectRef,
  items: Item[],
  more: () => Item[],
  cas: Required<CasOptions>,
  settled: (item: Item) => void,
): Promise<void> {
  const failAll = (err: unknown) => {
    for (const item of items) {
      settled(item);
      item.reject(err);
    }
  };
  for (let round = 1; ; round++) {
    items.push(...more());
    for (const item of items) item.rounds++;
    let current: V1ConfigMap | undefined;
    try {
      current = await kube.readConfigMap(ref);
    } catch (err) {
      return failAll(err);
    }
    const before = { ...(current?.data ?? {}) };
    const data = { ...before };
    const outcomes = items.map((item) => {
      try {
        return { ok: true as const, value: item.op(data) };
      } catch (err) {
        return { ok: false as const, err };
      }
    });
    const settle = (configMap: V1ConfigMap | undefined) =>
      items.forEach((item, i) => {
        const o = outcomes[i];
        settled(item);
        if (o.ok) item.resolve({ value: o.value, configMap });
        else item.reject(o.err);
      });
    if (sameData(before, data)) return settle(current);
    try {
      if (current) {
        return settle(await kube.replaceConfigMap(ref, { ...current, data: sortedData(data) }));
      }
      return settle(
        await kube.createConfigMap(ref, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: ref.name, namespace: ref.namespace },
          data: sortedData(data),
        }),
      );
    } catch (err) {
      if (!isConflict(err) && !isAlreadyExists(err)) return failAll(err);
      if (round >= cas.attempts) {
        return failAll(
          new FunctionError('CONFLICT', `ConfigMap ${key(ref)} kept changing; gave up after ${round} write attempts`, {
            configMap: key(ref),
            attempts: round,
          }),
        );
      }
      await sleep(backoffDelay(round - 1, cas));
    }
  }
}

export function createConfigMapWriter({
  kube,
  coalesce = true,
  cas = {},
}: {
  kube: IngressKube;
  coalesce?: boolean;
  cas?: CasOptions;
}): ConfigMapWriter {
  const options = { ...DEFAULT_CAS, ...Object.fromEntries(Object.entries(cas).filter(([, v]) => v !== undefined)) };
  const queues = new Map<string, { pending: Item[]; running: boolean }>();
  const stats: WriterStats = { operations: 0, retries: 0, maxRetries: 0 };
  const settled = (item: Item) => {
    const retries = Math.max(0, item.rounds - 1);
    stats.operations++;
    stats.retries += retries;
    stats.maxRetries = Math.max(stats.maxRetries, retries);
  };

  const drain = async (ref: ObjectRef, queue: { pending: Item[]; running: boolean }) => {
    queue.running = true;
    try {
      while (queue.pending.length > 0) {
        await runRounds(kube, ref, queue.pending.splice(0), () => queue.pending.splice(0), options, settled);
      }
    } finally {
      queue.running = false;
      if (queue.pending.length === 0) queues.delete(key(ref));
    }
  };

  return {
    stats,
    submit<R>(ref: ObjectRef, op: ConfigMapOp<R>): Promise<Written<R>> {
      return new Promise<Written<R>>((resolve, reject) => {
        const item: Item = { op, rounds: 0, resolve: resolve as (written: Written<unknown>) => void, reject };
        if (!coalesce) {
          void runRounds(kube, ref, [item], () => [], options, settled);
          return;
        }
        let queue = queues.get(key(ref));
        if (!queue) queues.set(key(ref), (queue = { pending: [], running: false }));
        queue.pending.push(item);
        if (!queue.running) void drain(ref, queue);
      });
    },
  };
}
