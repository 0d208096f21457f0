/**
 * The three PATCH flavours of the Kubernetes API on plain JSON objects:
 * - `merge`: RFC 7386 JSON merge patch (`application/merge-patch+json`);
 * - `json`: RFC 6902 JSON patch (`application/json-patch+json`);
 * - `strategic`: Kubernetes strategic merge patch (`application/strategic-merge-patch+json`).
 *
 * Strategic merge needs to know which lists merge by key; without schemas the emulator decides
 * from the path of the list (see list-keys.ts). Supported directives: `$patch: replace|delete|merge`
 * on maps and list elements, a `{$patch: replace}` element replacing a whole list,
 * `$deleteFromPrimitiveList/<field>`, `$retainKeys`, and `$setElementOrder/<field>`, which is
 * accepted but ignored (element order: existing elements keep their place, new ones are appended).
 */

import { listStrategy, type MapListStrategy } from './list-keys.js';

export type PatchType = 'merge' | 'json' | 'strategic';

/** A JSON patch `test` operation did not match (the apiserver answers 422). */
export class PatchTestFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PatchTestFailedError';
  }
}

/** The patch document itself is malformed or does not apply to the object. */
export class InvalidPatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidPatchError';
  }
}

type JsonObject = Record<string, unknown>;

export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function cloneJson<T>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && jsonEqual(a[k], b[k]));
  }
  return false;
}

function requireObjectResult(value: unknown): JsonObject {
  if (!isPlainObject(value)) throw new InvalidPatchError('patch result must be a JSON object');
  return value;
}

/** Apply a patch of the given type to `current` and return the new object; `current` is untouched. */
export function applyPatch(opts: { current: Record<string, unknown>; patch: unknown; type: PatchType }): Record<string, unknown> {
  switch (opts.type) {
    case 'merge':
      if (!isPlainObject(opts.patch)) throw new InvalidPatchError('merge patch must be a JSON object');
      return requireObjectResult(mergePatch(opts.current, opts.patch));
    case 'json':
      return requireObjectResult(jsonPatch(opts.current, opts.patch));
    case 'strategic':
      if (!isPlainObject(opts.patch)) throw new InvalidPatchError('strategic merge patch must be a JSON object');
      return strategicMerge(opts.current, opts.patch);
    default:
      throw new InvalidPatchError(`unknown patch type "${String(opts.type)}"`);
  }
}

/* ------------------------------------------------------------- RFC 7386 */

function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return cloneJson(patch);
  const result: JsonObject = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/* ------------------------------------------------------------- RFC 6902 */

function parsePointer(pointer: unknown, what: string): string[] {
  if (typeof pointer !== 'string') throw new InvalidPatchError(`${what} must be a string`);
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new InvalidPatchError(`${what} "${pointer}" must start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => {
      if (/~[^01]|~$/.test(token)) throw new InvalidPatchError(`${what} "${pointer}" has an invalid ~ escape`);
      return token.replace(/~1/g, '/').replace(/~0/g, '~');
    });
}

function arrayIndex(token: string, length: number, pointer: string, allowEnd: boolean): number {
  if (allowEnd && token === '-') return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) {
    throw new InvalidPatchError(`path "${pointer}": "${token}" is not an array index`);
  }
  const index = Number(token);
  const max = allowEnd ? length : length - 1;
  if (index > max) throw new InvalidPatchError(`path "${pointer}": index ${index} is out of bounds`);
  return index;
}

function hasOwn(obj: JsonObject, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key);
}

/** Resolve all but the last token; the container must exist. */
function parentOf(doc: unknown, tokens: string[], pointer: string): unknown {
  let node = doc;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[arrayIndex(token, node.length, pointer, false)];
    else if (isPlainObject(node) && hasOwn(node, token)) node = node[token];
    else throw new InvalidPatchError(`path "${pointer}" does not exist`);
  }
  if (!Array.isArray(node) && !isPlainObject(node)) throw new InvalidPatchError(`path "${pointer}" does not exist`);
  return node;
}

function getAt(doc: unknown, tokens: string[], pointer: string): unknown {
  if (tokens.length === 0) return doc;
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) return parent[arrayIndex(last, parent.length, pointer, false)];
  const obj = parent as JsonObject;
  if (!hasOwn(obj, last)) throw new InvalidPatchError(`path "${pointer}" does not exist`);
  return obj[last];
}

function addAt(doc: unknown, tokens: string[], value: unknown, pointer: string): unknown {
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, pointer, true), 0, value);
  else (parent as JsonObject)[last] = value;
  return doc;
}

function removeAt(doc: unknown, tokens: string[], pointer: string): unknown {
  if (tokens.length === 0) throw new InvalidPatchError('cannot remove the whole document');
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, pointer, false), 1);
  else {
    const obj = parent as JsonObject;
    if (!hasOwn(obj, last)) throw new InvalidPatchError(`path "${pointer}" does not exist`);
    delete obj[last];
  }
  return doc;
}

function jsonPatch(current: JsonObject, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw new InvalidPatchError('JSON patch must be an array of operations');
  let doc: unknown = cloneJson(current);
  patch.forEach((operation, i) => {
    if (!isPlainObject(operation)) throw new InvalidPatchError(`operation ${i} must be an object`);
    const { op, path } = operation;
    const tokens = parsePointer(path, `operation ${i} path`);
    const pointer = path as string;
    const value = (): unknown => {
      if (!hasOwn(operation, 'value')) throw new InvalidPatchError(`operation ${i} (${String(op)}) needs a value`);
      return cloneJson(operation.value);
    };
    switch (op) {
      case 'add':
        doc = addAt(doc, tokens, value(), pointer);
        break;
      case 'remove':
        doc = removeAt(doc, tokens, pointer);
        break;
      case 'replace': {
        const replacement = value();
        getAt(doc, tokens, pointer);
        doc = tokens.length === 0 ? replacement : addAt(removeAt(doc, tokens, pointer), tokens, replacement, pointer);
        break;
      }
      case 'move': {
        const fromTokens = parsePointer(operation.from, `operation ${i} from`);
        const from = operation.from as string;
        if (from !== pointer && pointer.startsWith(`${from}/`)) {
          throw new InvalidPatchError(`operation ${i}: cannot move "${from}" into its own child "${pointer}"`);
        }
        const moved = getAt(doc, fromTokens, from);
        doc = addAt(removeAt(doc, fromTokens, from), tokens, moved, pointer);
        break;
      }
      case 'copy': {
        const fromTokens = parsePointer(operation.from, `operation ${i} from`);
        const copied = cloneJson(getAt(doc, fromTokens, operation.from as string));
        doc = addAt(doc, tokens, copied, pointer);
        break;
      }
      case 'test': {
        const expected = value();
        let actual: unknown;
        try {
          actual = getAt(doc, tokens, pointer);
        } catch (error) {
          if (error instanceof InvalidPatchError) {
            throw new PatchTestFailedError(`test operation ${i} failed: path "${pointer}" does not exist`);
          }
          throw error;
        }
        if (!jsonEqual(actual, expected)) {
          throw new PatchTestFailedError(
            `test operation ${i} failed: "${pointer}" is ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`,
          );
        }
        break;
      }
      default:
        throw new InvalidPatchError(`operation ${i} has unknown op ${JSON.stringify(op)}`);
    }
  });
  return doc;
}

/* ------------------------------------------------- strategic merge patch */

const PATCH = '$patch';
const RETAIN_KEYS = '$retainKeys';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList/';
const SET_ELEMENT_ORDER = '$setElementOrder/';

function strategicMerge(current: JsonObject, patch: JsonObject): JsonObject {
  const directive = patch[PATCH];
  if (directive === 'delete') return {};
  return mergeMap(current, patch, []);
}

function mergeMap(original: unknown, patch: JsonObject, path: string[]): JsonObject {
  const directive = patch[PATCH];
  if (directive !== undefined && directive !== 'replace' && directive !== 'merge' && directive !== 'delete') {
    throw new InvalidPatchError(`unknown $patch directive ${JSON.stringify(directive)} at "${path.join('.')}"`);
  }
  let result: JsonObject = directive === 'replace' || !isPlainObject(original) ? {} : { ...original };

  const retain = patch[RETAIN_KEYS];
  if (retain !== undefined) {
    if (!Array.isArray(retain)) throw new InvalidPatchError(`$retainKeys at "${path.join('.')}" must be a list`);
    result = Object.fromEntries(Object.entries(result).filter(([key]) => retain.includes(key)));
  }

  const deletions: Array<[string, unknown]> = [];
  for (const [key, value] of Object.entries(patch)) {
    if (key === PATCH || key === RETAIN_KEYS || key.startsWith(SET_ELEMENT_ORDER)) continue;
    if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      deletions.push([key.slice(DELETE_FROM_PRIMITIVE_LIST.length), value]);
      continue;
    }
    if (value === undefined) continue;
    if (value === null) {
      delete result[key];
      continue;
    }
    const childPath = [...path, key];
    if (isPlainObject(value)) {
      if (value[PATCH] === 'delete') delete result[key];
      else result[key] = mergeMap(result[key], value, childPath);
    } else if (Array.isArray(value)) {
      result[key] = mergeList(result[key], value, childPath);
    } else {
      result[key] = value;
    }
  }

  for (const [field, values] of deletions) {
    if (!Array.isArray(values)) {
      throw new InvalidPatchError(`$deleteFromPrimitiveList/${field} at "${path.join('.')}" must be a list`);
    }
    const list = result[field];
    if (Array.isArray(list)) result[field] = list.filter((item) => !values.some((v) => jsonEqual(v, item)));
  }
  return result;
}

function listDirective(item: unknown): unknown {
  return isPlainObject(item) ? item[PATCH] : undefined;
}

function mergeList(original: unknown, patch: unknown[], path: string[]): unknown[] {
  const replaceIndex = patch.findIndex(
    (item) => isPlainObject(item) && item[PATCH] === 'replace' && Object.keys(item).length === 1,
  );
  const base = replaceIndex >= 0 || !Array.isArray(original) ? [] : original;
  const items = replaceIndex >= 0 ? patch.filter((_, i) => i !== replaceIndex) : patch;
  const strategy = listStrategy(path);

  if (strategy.type === 'map' && items.every((item) => isPlainObject(item))) {
    return mergeKeyedList(base, items as JsonObject[], strategy, path);
  }
  const cleaned = items.map((item) => (isPlainObject(item) ? mergeMap(undefined, item, path) : cloneJson(item)));
  if (strategy.type === 'set' && replaceIndex < 0) {
    return [...base, ...cleaned.filter((item) => !base.some((existing) => jsonEqual(existing, item)))];
  }
  return cleaned;
}

function mergeKeyedList(base: unknown[], items: JsonObject[], strategy: MapListStrategy, path: string[]): unknown[] {
  const key = strategy.patchKey;
  const result = [...base];
  for (const item of items) {
    if (!hasOwn(item, key)) {
      throw new InvalidPatchError(`element of "${path.join('.')}" does not contain its merge key "${key}"`);
    }
    const index = result.findIndex((existing) => isPlainObject(existing) && jsonEqual(existing[key], item[key]));
    const directive = listDirective(item);
    if (directive === 'delete') {
      if (index >= 0) {
        const remaining = result.filter((existing) => !(isPlainObject(existing) && jsonEqual(existing[key], item[key])));
        result.splice(0, result.length, ...remaining);
      }
      continue;
    }
    if (index >= 0) result[index] = mergeMap(result[index], item, path);
    else result.push(mergeMap(undefined, item, path));
  }
  return result;
}
