// Chart values reach helm as one temporary values file, never as `--set` strings (helm's --set parser
// splits on commas, dots and brackets, so a value like "a,b" would silently become two keys).
//
// Requests carry values two ways:
//   valuesObject  nested object, used as is
//   values        flat map in --set style: {"rabbitmq.username": "admin"} means {rabbitmq: {username: "admin"}};
//                 "." separates keys, "\." is a literal dot, "\\" a literal backslash; brackets are not special.
// Precedence: valuesObject first, then `values` merged over it (a `values` key wins over the same path
// in valuesObject). Both override the chart's own values.yaml, as any user-supplied values do.
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FunctionError } from '../errors.js';
import { helmHome } from './home.js';

export type Scalar = string | number | boolean | null;
export type Values = { [key: string]: unknown };

function invalid(message: string, path: string): never {
  throw new FunctionError('INVALID_INPUT', message, [{ path, message }]);
}

const isObject = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v);

// Own data properties only, so keys like "__proto__" are plain keys and never touch a prototype.
function setOwn(target: Values, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Splits a --set style key on unescaped dots. */
export function splitKey(key: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < key.length; i += 1) {
    const ch = key[i];
    if (ch === '\\' && (key[i + 1] === '.' || key[i + 1] === '\\')) {
      current += key[i + 1];
      i += 1;
    } else if (ch === '.') {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  if (parts.some((p) => p === '')) invalid(`values key "${key}" has an empty segment`, `/values/${key}`);
  return parts;
}

/** Turns the flat `values` map into a nested object; JSON value types are kept. */
export function expandSetValues(flat: Record<string, Scalar>): Values {
  const out: Values = {};
  for (const [key, value] of Object.entries(flat)) {
    const parts = splitKey(key);
    let node = out;
    for (const part of parts.slice(0, -1)) {
      const next = Object.hasOwn(node, part) ? node[part] : undefined;
      if (next === undefined) {
        const child: Values = {};
        setOwn(node, part, child);
        node = child;
      } else if (isObject(next)) {
        node = next;
      } else {
        invalid(`values key "${key}" conflicts with another key that sets "${part}" to a value`, `/values/${key}`);
      }
    }
    const last = parts[parts.length - 1];
    if (Object.hasOwn(node, last)) {
      invalid(`values key "${key}" conflicts with another key for the same path`, `/values/${key}`);
    }
    setOwn(node, last, value);
  }
  return out;
}

/** Deep merge: objects merge key by key, anything else in `over` replaces what is in `base`. */
export function mergeValues(base: Values, over: Values): Values {
  const out: Values = {};
  for (const [k, v] of Object.entries(base)) setOwn(out, k, isObject(v) ? mergeValues(v, {}) : v);
  for (const [k, v] of Object.entries(over)) {
    const current = Object.hasOwn(out, k) ? out[k] : undefined;
    setOwn(out, k, isObject(current) && isObject(v) ? mergeValues(current, v) : isObject(v) ? mergeValues(v, {}) : v);
  }
  return out;
}

/** The user-supplied values of a request: valuesObject, then `values` over it. */
export function requestValues(input: { values?: Record<string, Scalar>; valuesObject?: Values }): Values {
  return mergeValues(input.valuesObject ?? {}, expandSetValues(input.values ?? {}));
}

/**
 * Writes values to a file only this user can read (JSON is valid YAML), runs fn with its path and
 * deletes the file afterwards, whatever fn does.
 */
export async function withValuesFile<T>(values: Values, fn: (path: string) => Promise<T>): Promise<T> {
  const path = join(helmHome().tmp, `values-${randomBytes(12).toString('hex')}.json`);
  await writeFile(path, JSON.stringify(values), { mode: 0o600, flag: 'wx' });
  try {
    return await fn(path);
  } finally {
    await rm(path, { force: true });
  }
}
