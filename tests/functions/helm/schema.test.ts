// The schema is the first gate, names.ts the last one before helm: they must agree.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { assertChartRef, BARE_CHART, OCI_REF, REPO_CHART, SECRET_NAME, VERSION } from '#runtime/helm/names.js';
import { DNS1123_LABEL_PATTERN } from '#runtime/names.js';
import { compileValidator } from '#runtime/validate.js';

const schema = JSON.parse(readFileSync(new URL('../../../functions/helm/schema.json', import.meta.url), 'utf8'));
const defs = schema.$defs;
const compiled = new Map<string, (body: unknown) => unknown>();
const validator = (name: string) => {
  if (!compiled.has(name)) compiled.set(name, compileValidator<unknown>({ $defs: defs, $ref: `#/$defs/${name}` }));
  return compiled.get(name)!;
};
const accepts = (name: string, body: unknown) => {
  try {
    validator(name)(body);
    return true;
  } catch {
    return false;
  }
};

const inner = (re: RegExp) => re.source.replace(/^\^/, '').replace(/\$$/, '');

describe('helm function schema', () => {
  test('one definition per route, all compile under strict ajv', () => {
    for (const name of ['install', 'upgrade', 'uninstall', 'list', 'status', 'history', 'rollback']) {
      expect(() => validator(name)).not.toThrow();
    }
  });

  test.each([
    [{ chartName: 'stable/nginx-ingress', releaseName: 'x' }],
    [{ chartName: 'app', releaseName: 'a1', privateChartsRepo: 'https://host/index.yaml' }],
    [{ chartName: 'stable/rabbitmq', values: { 'rabbitmq.username': 'admin' } }],
  ])('the original payload %j validates unchanged', (body) => {
    const copy = structuredClone(body);
    expect(validator('install')(copy)).toEqual(body);
  });

  test('name patterns are the ones names.ts checks again before helm runs', () => {
    expect(defs.releaseName.pattern).toBe(DNS1123_LABEL_PATTERN);
    expect(defs.namespace.pattern).toBe(DNS1123_LABEL_PATTERN);
    expect(defs.chartName.pattern).toBe(`^(?:${inner(OCI_REF)}|${inner(REPO_CHART).replace(/[()]/g, '')}|${inner(BARE_CHART)})$`);
    expect(defs.version.pattern).toBe(VERSION.source);
    expect(defs.repoCredentialsSecret.pattern).toBe(SECRET_NAME.source);
  });

  test('any chartName the schema accepts, names.ts accepts too', () => {
    const chars = fc.constantFrom(...'aZ09-._/:@ \n\\'.split(''));
    const name = fc.oneof(
      fc.array(chars, { maxLength: 20 }).map((a) => a.join('')),
      fc.array(chars, { maxLength: 20 }).map((a) => `oci://${a.join('')}`),
    );
    fc.assert(
      fc.property(name, (chartName) => {
        if (!accepts('install', { chartName })) return;
        expect(assertChartRef(chartName)).toBe(chartName);
      }),
    );
  });

  test('routes take only their own fields', () => {
    expect(accepts('uninstall', { releaseName: 'a', chartName: 'x' })).toBe(false);
    expect(accepts('status', { releaseName: 'a', revision: 0 })).toBe(false);
    expect(accepts('rollback', { releaseName: 'a', revision: 0 })).toBe(true);
    expect(accepts('upgrade', { chartName: 'stable/x' })).toBe(false);
    expect(accepts('upgrade', { chartName: 'stable/x', releaseName: 'a', install: true, reuseValue: true })).toBe(true);
    expect(accepts('list', { allNamespaces: true, max: 10 })).toBe(true);
  });
});
