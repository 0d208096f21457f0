// Compare-and-swap edits of one hot Kubernetes object, optionally coalesced.
//
// A shared object (a tcp/udp services ConfigMap, a shared Gateway) takes every claim on its address,
// so with N claims racing only one conditional write wins per round and each claim retrying on its
// own costs O(N^2) requests. Coalesced, every edit waiting in this process for the same object is
// rendered into one working copy and written once; on a 409 the whole batch (plus anything that
// arrived meanwhile) is re-rendered against the fresh object. Other replicas still race through the
// same CAS, so correctness never depends on the batching.
import { FunctionError } from '../errors.js';
import { isAlreadyExists, isConflict, isNotFound } from '../kube.js';
import { backoffDelay, sleep } from '../backoff.js';

export interface ObjectRef {
  namespace: string;
  name: string;
}

/**
 * Reads and edits the working copy in place and returns its result, or throws a FunctionError that
 * fails only this edit. It must not change the copy before throwing.
 */
export type CasOp<S, R> = (state: S) => R;

export interface CasOptions {
  /** Write rounds before giving up with CONFLICT. */
  attempts?: number;
  /** Full-jitter backoff between rounds. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  random?: () => number;
}

export const DEFAULT_CAS: Required<CasOptions> = { attempts: 20, baseDelayMs: 5, maxDelayMs: 250, random: Math.random };

export function casOptions(cas: CasOptions = {}): Required<CasOptions> {
  return { ...DEFAULT_CAS, ...Object.fromEntries(Object.entries(cas).filter(([, v]) => v !== undefined)) };
}

/** How one kind of object is read, turned into an editable copy and written back. */
export interface CasObject<O, S> {
  /** For messages and error details: "ConfigMap", "Gateway". */
  kind: string;
  /** undefined: the object does not exist. */
  read(ref: ObjectRef): Promise<O | undefined>;
  /** A fresh editable copy of what the edits work on (called twice per round: before and working). */
  state(current: O | undefined): S;
  same(a: S, b: S): boolean;
  /**
   * Writes `next` conditionally on `current`'s resourceVersion, or creates the object. Throws 409
   * when stale. Returns the object as written.
   */
  write(ref: ObjectRef, current: O | undefined, next: S): Promise<O>;
  /**
   * Whether a batch may start from the object the previous batch wrote instead of reading it
   * (default true). Off for objects that something else rewrites right after our writes (a
   * Gateway's controller writes its status as routes attach): the copy would be stale every time.
   */
  chain?: boolean;
}

export interface Written<O, R> {
  /** What the edit returned. */
  value: R;
  /**
   * The object right after the round that applied the edit: as written, or as read when nothing
   * needed writing; undefined when it does not exist and nothing was written.
   */
  object?: O;
}

/** CAS rounds per edit. */
export interface CasStats {
  /** Edits settled (done or failed). */
  operations: number;
  /** Rounds an edit took part in after its first (each follows a 409), summed over edits. */
  retries: number;
  /** The most such rounds of one edit. */
  maxRetries: number;
}

export interface CasWriter<O, S> {
  /**
   * `hint`: the object as the caller just read (listed) it. The first round edits it instead of
   * reading the object again; if it was stale, the write gets 409 and the next round reads.
   */
  submit<R>(ref: ObjectRef, op: CasOp<S, R>, hint?: O): Promise<Written<O, R>>;
  readonly stats: CasStats;
}

interface Item<O, S> {
  op: CasOp<S, unknown>;
  hint?: O;
  /** Rounds this edit took part in so far. */
  rounds: number;
  resolve(written: Written<O, unknown>): void;
  reject(err: unknown): void;
}

const key = (ref: ObjectRef) => `${ref.namespace}/${ref.name}`;

/**
 * Renders `items` against the current object and writes the result conditionally, re-reading and
 * re-rendering on 409. `more` is polled before each round to fold in edits that arrived meanwhile.
 * `start`: what the first round starts from: the object as this writer last wrote it (fresher than
 * any caller's hint), 'read' for a fresh read, or undefined for a caller's hint if there is one.
 * Returns the object as written now, if anything was.
 */
async function runRounds<O, S>(
  object: CasObject<O, S>,
  ref: ObjectRef,
  items: Item<O, S>[],
  more: () => Item<O, S>[],
  cas: Required<CasOptions>,
  settled: (item: Item<O, S>) => void,
  start?: O | 'read',
): Promise<O | undefined> {
  const failAll = (err: unknown) => {
    for (const item of items) {
      settled(item);
      item.reject(err);
    }
    return undefined;
  };
  for (let round = 1; ; round++) {
    items.push(...more());
    const hint = round > 1 || start === 'read' ? undefined : (start ?? items.find((item) => item.hint !== undefined)?.hint);
    for (const item of items) item.rounds++;
    let current = hint;
    try {
      current ??= await object.read(ref);
    } catch (err) {
      return failAll(err);
    }
    const before = object.state(current);
    const working = object.state(current);
    const outcomes = items.map((item) => {
      try {
        return { ok: true as const, value: item.op(working) };
      } catch (err) {
        return { ok: false as const, err };
      }
    });
    // Only a write proves a hint was current: an answer without one (nothing to change, or a
    // refusal) is given again from a fresh read.
    if (hint !== undefined && (object.same(before, working) || outcomes.some((o) => !o.ok))) {
      for (const item of items) item.rounds--;
      continue;
    }
    const settle = (written: O | undefined) => {
      items.forEach((item, i) => {
        const o = outcomes[i];
        settled(item);
        if (o.ok) item.resolve({ value: o.value, object: written });
        else item.reject(o.err);
      });
    };
    if (object.same(before, working)) {
      settle(current);
      return undefined;
    }
    try {
      const written = await object.write(ref, current, working);
      settle(written);
      return written;
    } catch (err) {
      // 409: changed since read; AlreadyExists: created since read; 404: deleted since read.
      const deletedSince = isNotFound(err) && current !== undefined;
      if (!isConflict(err) && !isAlreadyExists(err) && !deletedSince) {
        if (items.length === 1) return failAll(err);
        // Refused for a reason of its own (a validation rule, an admission webhook): one edit at a
        // time, so that only the edits the API server refuses fail.
        let last: O | undefined;
        for (const item of items) last = (await runRounds(object, ref, [item], () => [], cas, settled, 'read')) ?? last;
        return last;
      }
      if (round >= cas.attempts) {
        const what = object.kind.charAt(0).toLowerCase() + object.kind.slice(1);
        return failAll(
          new FunctionError('CONFLICT', `${object.kind} ${key(ref)} kept changing; gave up after ${round} write attempts`, {
            [what]: key(ref),
            attempts: round,
          }),
        );
      }
      await sleep(backoffDelay(round - 1, cas));
    }
  }
}

export function createCasWriter<O, S>(
  object: CasObject<O, S>,
  { coalesce = true, cas }: { coalesce?: boolean; cas?: CasOptions } = {},
): CasWriter<O, S> {
  const options = casOptions(cas);
  const stats: CasStats = { operations: 0, retries: 0, maxRetries: 0 };
  const settled = (item: Item<O, S>) => {
    const retries = Math.max(0, item.rounds - 1);
    stats.operations++;
    stats.retries += retries;
    stats.maxRetries = Math.max(stats.maxRetries, retries);
  };
  const queues = new Map<string, { pending: Item<O, S>[]; running: boolean }>();

  const drain = async (ref: ObjectRef, queue: { pending: Item<O, S>[]; running: boolean }) => {
    queue.running = true;
    let start: O | 'read' | undefined;
    try {
      // A batch after the first starts from what the previous one wrote, so back-to-back batches
      // need no read; callers' hints are older than that and only serve the first batch.
      while (queue.pending.length > 0) {
        const written = await runRounds(object, ref, queue.pending.splice(0), () => queue.pending.splice(0), options, settled, start);
        start = object.chain !== false && written !== undefined ? written : 'read';
      }
    } finally {
      queue.running = false;
      if (queue.pending.length === 0) queues.delete(key(ref));
    }
  };

  return {
    stats,
    submit<R>(ref: ObjectRef, op: CasOp<S, R>, hint?: O): Promise<Written<O, R>> {
      return new Promise<Written<O, R>>((resolve, reject) => {
        const item: Item<O, S> = { op, hint, rounds: 0, resolve: resolve as (written: Written<O, unknown>) => void, reject };
        if (!coalesce) {
          void runRounds(object, ref, [item], () => [], options, settled);
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
