import { existsSync, readFileSync, statSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { expandSetValues, mergeValues, requestValues, splitKey, withValuesFile } from '#runtime/helm/values.js';
import { thrownBy } from '../function-error.js';

function invalid(fn: () => unknown): string {
  const err = thrownBy(fn);
  expect(err.code).toBe('INVALID_INPUT');
  return err.message;
}

describe('splitKey', () => {
  test.each([
    ['a', ['a']],
    ['rabbitmq.username', ['rabbitmq', 'username']],
    ['a\\.b.c', ['a.b', 'c']],
    ['annotations.kubernetes\\.io/ingress\\.class', ['annotations', 'kubernetes.io/ingress.class']],
    ['a\\\\.b', ['a\\', 'b']],
    ['a\\b', ['a\\b']],
    ['list[0].x', ['list[0]', 'x']],
  ])('%s', (key, parts) => {
    expect(splitKey(key)).toEqual(parts);
  });

  test.each(['.a', 'a.', 'a..b', ''])('empty segment in %j is refused', (key) => {
    expect(invalid(() => splitKey(key))).toContain('empty segment');
  });
});

describe('expandSetValues', () => {
  test('the seed payload nests on dots', () => {
    expect(expandSetValues({ 'rabbitmq.username': 'admin' })).toEqual({ rabbitmq: { username: 'admin' } });
  });

  test('JSON types are kept and string contents are never parsed', () => {
    expect(
      expandSetValues({
        'a.count': 3,
        'a.ratio': 0.5,
        'a.on': true,
        'a.off': null,
        'a.list': 'x,y,z',
        'a.text': 'line1\nline2',
        'a.quoted': '"{a: [1]}"',
        'a.number-like': '007',
        'a.set-like': 'b=c,d=e',
      }),
    ).toEqual({
      a: {
        count: 3,
        ratio: 0.5,
        on: true,
        off: null,
        list: 'x,y,z',
        text: 'line1\nline2',
        quoted: '"{a: [1]}"',
        'number-like': '007',
        'set-like': 'b=c,d=e',
      },
    });
  });

  test('a key that is both a value and a parent is refused, in either order', () => {
    expect(invalid(() => expandSetValues({ a: 1, 'a.b': 2 }))).toContain('"a.b"');
    expect(invalid(() => expandSetValues({ 'a.b': 2, a: 1 }))).toContain('"a"');
  });

  test('an escaped dot is part of the key', () => {
    expect(expandSetValues({ 'a\\.b': 1, 'a.b': 2 })).toEqual({ 'a.b': 1, a: { b: 2 } });
  });

  test('two spellings of the same path are refused', () => {
    // "\\b" and "\\\\b" both mean a backslash followed by b
    expect(invalid(() => expandSetValues({ 'x.a\\b': 1, 'x.a\\\\b': 2 }))).toBe(
      'values key "x.a\\\\b" conflicts with another key for the same path',
    );
  });

  test('__proto__ and constructor are plain keys, no prototype is touched', () => {
    const out = expandSetValues({ '__proto__.polluted': 'yes', 'constructor.prototype.x': 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(out))).toEqual(JSON.parse('{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"x":1}}}'));
  });
});

describe('mergeValues and precedence', () => {
  test('valuesObject first, then values over it, objects merged key by key', () => {
    expect(
      requestValues({
        valuesObject: { rabbitmq: { username: 'guest', password: 'p' }, replicas: 1, tags: ['a'] },
        values: { 'rabbitmq.username': 'admin', replicas: 2 },
      }),
    ).toEqual({ rabbitmq: { username: 'admin', password: 'p' }, replicas: 2, tags: ['a'] });
  });

  test('a scalar in values replaces a whole object of valuesObject', () => {
    expect(requestValues({ valuesObject: { a: { b: 1 } }, values: { a: 'flat' } })).toEqual({ a: 'flat' });
  });

  test('inputs are not modified', () => {
    const base = { a: { b: 1 } };
    const over = { a: { c: 2 } };
    expect(mergeValues(base, over)).toEqual({ a: { b: 1, c: 2 } });
    expect(base).toEqual({ a: { b: 1 } });
    expect(over).toEqual({ a: { c: 2 } });
  });

  test('no values at all is an empty object', () => {
    expect(requestValues({})).toEqual({});
  });
});

describe('withValuesFile', () => {
  test('writes a 0600 file with the values and removes it afterwards', async () => {
    let seen = '';
    const result = await withValuesFile({ a: { b: 'x,y' } }, async (path) => {
      seen = path;
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ a: { b: 'x,y' } });
      return 42;
    });
    expect(result).toBe(42);
    expect(existsSync(seen)).toBe(false);
  });

  test('removes the file when the callback fails', async () => {
    let seen = '';
    await expect(
      withValuesFile({}, async (path) => {
        seen = path;
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(seen).not.toBe('');
    expect(existsSync(seen)).toBe(false);
  });
});
