// The coalescing CAS writer against an in-memory object with a resourceVersion: batching, hints,
// conflicts, and failures that belong to one edit only.
import { describe, expect, test } from 'vitest';
import { FunctionError } from '#runtime/errors.js';
import { createCasWriter, type CasObject } from '#runtime/exposure/cas-writer.js';

interface Obj {
  rv: number;
  items: string[];
}

const kubeError = (status: number, reason?: string) => new FunctionError('KUBE_API_ERROR', `HTTP ${status}`, { status, reason, attempts: 1 });
const ref = { namespace: 'ns', name: 'obj' };

/** One stored object; `refuse` decides whether a write is refused (and how) before the version check. */
function store(refuse: (next: string[]) => FunctionError | undefined = () => undefined) {
  const state = { current: { rv: 1, items: [] as string[] } as Obj | undefined, reads: 0, writes: 0 };
  const object: CasObject<Obj, string[]> = {
    kind: 'Thing',
    read: async () => {
      state.reads++;
      return state.current && { ...state.current, items: [...state.current.items] };
    },
    state: (current) => [...(current?.items ?? [])],
    same: (a, b) => a.join() === b.join(),
    write: async (_ref, current, next) => {
      state.writes++;
      await new Promise((resolve) => setTimeout(resolve, 1));
      const refused = refuse(next);
      if (refused) throw refused;
      if (!state.current) throw kubeError(404, 'NotFound');
      if (current?.rv !== state.current.rv) throw kubeError(409, 'Conflict');
      state.current = { rv: state.current.rv + 1, items: next };
      return { ...state.current, items: [...next] };
    },
  };
  return { state, object };
}

const add = (item: string) => (items: string[]) => {
  if (items.includes(item)) return false;
  items.push(item);
  return true;
};

describe('createCasWriter', () => {
  test('edits waiting together share one write; back-to-back batches need no read in between', async () => {
    const { state, object } = store();
    const writer = createCasWriter(object);
    const results = await Promise.all(['a', 'b', 'c', 'd'].map((x) => writer.submit(ref, add(x))));
    expect(results.map((r) => r.value)).toEqual([true, true, true, true]);
    expect(state.current!.items.sort()).toEqual(['a', 'b', 'c', 'd']);
    // The first edit runs at once; the three that arrive meanwhile go in one more write.
    expect([state.reads, state.writes]).toEqual([1, 2]);
    expect(results.at(-1)!.object).toEqual(state.current);
  });

  test('a stale hint costs a 409 and a fresh round; an answer without a write is never given from a hint', async () => {
    const { state, object } = store();
    const writer = createCasWriter(object);
    const stale = { rv: 1, items: [] };
    await writer.submit(ref, add('a'));
    await new Promise((resolve) => setTimeout(resolve, 5)); // the writer is idle again
    expect((await writer.submit(ref, add('b'), stale)).value).toBe(true);
    expect(writer.stats.retries).toBe(1);
    // The hint says 'a' is not there yet; only a fresh read can say it is.
    await new Promise((resolve) => setTimeout(resolve, 5));
    state.reads = 0;
    expect((await writer.submit(ref, add('a'), stale)).value).toBe(false);
    expect(state.reads).toBe(1);
  });

  test('a write refused for a reason of its own is retried one edit at a time: only that edit fails', async () => {
    const { state, object } = store((next) => (next.includes('bad') ? kubeError(422, 'Invalid') : undefined));
    const writer = createCasWriter(object);
    const first = writer.submit(ref, add('a'));
    const batch = ['b', 'bad', 'c'].map((x) => writer.submit(ref, add(x)).then((r) => r.value, (err: FunctionError) => err.code));
    await first;
    expect(await Promise.all(batch)).toEqual([true, 'KUBE_API_ERROR', true]);
    expect(state.current!.items.sort()).toEqual(['a', 'b', 'c']);
  });

  test('an object deleted since it was read is read again (and created, if the edit does that)', async () => {
    const { state, object } = store();
    const writer = createCasWriter(object);
    const hint = { rv: 1, items: [] };
    state.current = undefined;
    const err = await writer.submit(ref, add('a'), hint).then(
      () => undefined,
      (e: FunctionError) => e,
    );
    // The fresh round finds no object; this store cannot create one, so the write says 404 again.
    expect(err).toMatchObject({ code: 'KUBE_API_ERROR', details: { status: 404 } });
    expect(state.reads).toBeGreaterThanOrEqual(1);
  });

  test('endless conflicts end in CONFLICT after the configured rounds', async () => {
    const { object } = store(() => kubeError(409, 'Conflict'));
    const writer = createCasWriter(object, { cas: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 } });
    await expect(writer.submit(ref, add('a'))).rejects.toMatchObject({ code: 'CONFLICT', details: { thing: 'ns/obj', attempts: 3 } });
  });
});
