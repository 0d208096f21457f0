/**
 * Simplified server-side apply (`application/apply-patch+yaml`), enough for helm 4, which applies
 * every chart resource with field manager "helm" and `force=true`.
 *
 * Instead of tracking ownership per field, the caller keeps the configuration each manager last
 * applied (`previouslyApplied`). Applying then:
 *  1. removes from the live object what the manager applied last time but no longer applies
 *     (leaf by leaf: map keys, keyed list elements, set members, atomic values), dropping maps and
 *     lists this leaves empty;
 *  2. merges the new configuration in: maps recursively, keyed lists element by element (keys from
 *     list-keys.ts, with apiserver defaults such as protocol TCP filled in for the comparison),
 *     sets as a union, other lists and scalars replaced. `null` in the configuration removes the
 *     field.
 *
 * Differences from the apiserver, on purpose: conflicts between managers are not detected (every
 * apply behaves as if forced), a field another manager also set is still removed when this manager
 * stops applying it, and existing list elements keep their order (new ones are appended).
 * Server-owned metadata (resourceVersion, uid, creationTimestamp, generation, managedFields,
 * deletion fields) is kept from the live object; the server fills it in for new objects.
 */

import { listStrategy, type ListStrategy, type MapListStrategy } from './list-keys.js';
import { cloneJson, isPlainObject, jsonEqual } from './patch.js';

type JsonObject = Record<string, unknown>;

const SERVER_OWNED_METADATA = [
  'resourceVersion',
  'uid',
  'creationTimestamp',
  'generation',
  'managedFields',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
] as const;

export interface ServerSideApplyOptions {
  /** The live object, absent when the apply creates it. */
  current?: Record<string, unknown>;
  /** The configuration sent by the field manager. */
  applied: Record<string, unknown>;
  fieldManager: string;
  /** Accepted for API fidelity; conflicts are not detected, so every apply is effectively forced. */
  force: boolean;
  /** What the same field manager applied last time, if anything. */
  previouslyApplied?: Record<string, unknown>;
}

export function serverSideApply(opts: ServerSideApplyOptions): Record<string, unknown> {
  const applied = stripNulls(opts.applied) as JsonObject;
  if (!opts.current) return applied;

  const live = cloneJson(opts.current);
  if (opts.previouslyApplied) removeStale(live, opts.previouslyApplied, opts.applied, []);
  const result = mergeInto(live, opts.applied, []);

  const liveMeta = isPlainObject(opts.current.metadata) ? opts.current.metadata : {};
  if (!isPlainObject(result.metadata)) return result;
  const meta = result.metadata;
  for (const field of SERVER_OWNED_METADATA) {
    if (field in liveMeta) meta[field] = cloneJson(liveMeta[field]);
    else delete meta[field];
  }
  return result;
}

/* ----------------------------------------------------------- keyed lists */

function keyOf(item: unknown, strategy: MapListStrategy): string | undefined {
  if (!isPlainObject(item)) return undefined;
  const values = strategy.keys.map((k) => item[k] ?? strategy.defaults?.[k] ?? null);
  return JSON.stringify(values);
}

function findByKey(list: unknown[], key: string | undefined, strategy: MapListStrategy): number {
  if (key === undefined) return -1;
  return list.findIndex((item) => keyOf(item, strategy) === key);
}

function isEmptyContainer(value: unknown): boolean {
  return (Array.isArray(value) && value.length === 0) || (isPlainObject(value) && Object.keys(value).length === 0);
}

/* ------------------------------------------------------- stale removal */

/**
 * Remove from `live` (in place) every field present in `previous` but absent from `applied`.
 */
function removeStale(live: JsonObject, previous: JsonObject, applied: unknown, path: string[]): void {
  const next = isPlainObject(applied) ? applied : {};
  for (const [key, prevValue] of Object.entries(previous)) {
    if (!(key in live)) continue;
    const childPath = [...path, key];
    const nextValue = next[key];
    const gone = nextValue === undefined || nextValue === null;

    if (isPlainObject(prevValue) && isPlainObject(live[key])) {
      removeStale(live[key] as JsonObject, prevValue, gone ? {} : nextValue, childPath);
      if (gone && isEmptyContainer(live[key])) delete live[key];
    } else if (Array.isArray(prevValue) && Array.isArray(live[key])) {
      live[key] = removeStaleFromList(live[key] as unknown[], prevValue, gone ? undefined : nextValue, childPath);
      if (gone && isEmptyContainer(live[key])) delete live[key];
    } else if (gone) {
      delete live[key];
    }
  }
}

function removeStaleFromList(live: unknown[], previous: unknown[], applied: unknown, path: string[]): unknown[] {
  const next = Array.isArray(applied) ? applied : [];
  const strategy: ListStrategy = listStrategy(path);
  if (strategy.type === 'set') {
    return live.filter((item) => !previous.some((p) => jsonEqual(p, item)) || next.some((n) => jsonEqual(n, item)));
  }
  if (strategy.type === 'atomic') {
    // An atomic list is replaced by the merge when still applied, removed when not.
    return applied === undefined ? [] : live;
  }
  const result = [...live];
  for (const prevItem of previous) {
    const key = keyOf(prevItem, strategy);
    const index = findByKey(result, key, strategy);
    if (index < 0 || !isPlainObject(prevItem)) continue;
    const nextIndex = findByKey(next, key, strategy);
    if (nextIndex < 0) {
      result.splice(index, 1);
    } else {
      // Key fields the configuration leaves to apiserver defaults (protocol) must not be removed.
      const nextItem = { ...strategy.defaults, ...(next[nextIndex] as JsonObject) };
      removeStale(result[index] as JsonObject, prevItem, nextItem, path);
    }
  }
  return result;
}

/* --------------------------------------------------------------- merge */

function mergeInto(live: JsonObject, applied: JsonObject, path: string[]): JsonObject {
  for (const [key, value] of Object.entries(applied)) {
    if (value === undefined) continue;
    if (value === null) {
      delete live[key];
      continue;
    }
    const childPath = [...path, key];
    const existing = live[key];
    if (isPlainObject(value)) {
      live[key] = isPlainObject(existing) ? mergeInto(existing, value, childPath) : stripNulls(value);
    } else if (Array.isArray(value)) {
      live[key] = Array.isArray(existing) ? mergeList(existing, value, childPath) : stripNulls(value);
    } else {
      live[key] = value;
    }
  }
  return live;
}

function mergeList(live: unknown[], applied: unknown[], path: string[]): unknown[] {
  const strategy = listStrategy(path);
  if (strategy.type === 'set') {
    return [...live, ...applied.filter((item) => !live.some((existing) => jsonEqual(existing, item)))].map(stripNulls);
  }
  if (strategy.type === 'atomic' || !applied.every(isPlainObject)) return stripNulls(applied) as unknown[];
  const result = [...live];
  for (const item of applied as JsonObject[]) {
    const index = findByKey(result, keyOf(item, strategy), strategy);
    if (index >= 0 && isPlainObject(result[index])) result[index] = mergeInto(result[index] as JsonObject, item, path);
    else result.push(stripNulls(item));
  }
  return result;
}

function stripNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripNulls);
  if (isPlainObject(value)) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== null && v !== undefined)
        .map(([k, v]) => [k, stripNulls(v)]),
    );
  }
  return value;
}
