import { describe, expect, it } from 'vitest';
import { parseFieldSelector, parseLabelSelector } from '../../../dev/cluster/selectors.js';
import { ApiError } from '../../../dev/cluster/status.js';

const objects = [
  { name: 'a', labels: { app: 'web', tier: 'front' } },
  { name: 'b', labels: { app: 'db' } },
  { name: 'c', labels: {} as Record<string, string> },
  { name: 'd', labels: { app: 'web', 'example.com/team': 'x' } },
];

function select(selector: string): string[] {
  const matches = parseLabelSelector(selector);
  return objects.filter((o) => matches(o.labels)).map((o) => o.name);
}

describe('label selectors', () => {
  it.each([
    ['', ['a', 'b', 'c', 'd']],
    ['app=web', ['a', 'd']],
    ['app==web', ['a', 'd']],
    ['app!=web', ['b', 'c']],
    ['app in (db, web)', ['a', 'b', 'd']],
    ['app notin (web)', ['b', 'c']],
    ['tier', ['a']],
    ['!tier', ['b', 'c', 'd']],
    ['app=web,!tier', ['d']],
    ['example.com/team=x', ['d']],
    ['app in (web),tier notin (back)', ['a', 'd']],
    ['app=', [] as string[]],
  ])('%j selects %j', (selector, expected) => {
    expect(select(selector)).toEqual(expected);
  });

  it('rejects malformed selectors with 400 BadRequest', () => {
    for (const bad of ['a b c', 'app=we b', '-bad=x', 'app=in valid']) {
      let error: unknown;
      try {
        parseLabelSelector(bad);
      } catch (e) {
        error = e;
      }
      expect(error, bad).toBeInstanceOf(ApiError);
      expect((error as ApiError).status).toMatchObject({ code: 400, reason: 'BadRequest' });
    }
  });
});

describe('field selectors', () => {
  const items = [
    { metadata: { name: 'x', namespace: 'a' } },
    { metadata: { name: 'y', namespace: 'b' }, status: { phase: 'Running' } },
  ];
  const select = (s: string) => items.filter(parseFieldSelector(s)).map((o) => o.metadata.name);

  it('matches metadata.name and metadata.namespace with =, == and !=', () => {
    expect(select('metadata.name=x')).toEqual(['x']);
    expect(select('metadata.name==y')).toEqual(['y']);
    expect(select('metadata.namespace!=a')).toEqual(['y']);
    expect(select('metadata.name=x,metadata.namespace=b')).toEqual([]);
    expect(select('status.phase=Running')).toEqual(['y']);
  });

  it('rejects unknown fields', () => {
    expect(() => parseFieldSelector('spec.foo=1')).toThrow('field label not supported: spec.foo');
  });
});
