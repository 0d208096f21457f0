import { describe, expect, test } from 'vitest';
import { FunctionError } from '#runtime/errors.js';
import {
  DNS1035_LABEL_PATTERN,
  DNS1123_LABEL_PATTERN,
  DNS1123_SUBDOMAIN_PATTERN,
  NAME_RULES,
  assertValidName,
  isDns1035Label,
  isDns1123Label,
  isDns1123Subdomain,
  isNamespaceName,
  isReleaseName,
} from '#runtime/names.js';
import { compileValidator } from '#runtime/validate.js';

describe('DNS-1123 labels', () => {
  test.each(['a', 'web', 'web-1', '1web', 'a'.repeat(63)])('accepts %s', (name) => {
    expect(isDns1123Label(name)).toBe(true);
    expect(isNamespaceName(name)).toBe(true);
  });

  test.each(['', '-web', 'web-', 'Web', 'web_1', 'web.1', 'a'.repeat(64), ' web', 'web\n', '--set=x'])('rejects %j', (name) => {
    expect(isDns1123Label(name)).toBe(false);
  });

  test('rejects non-strings', () => {
    expect(isDns1123Label(undefined)).toBe(false);
    expect(isDns1123Label(42)).toBe(false);
  });
});

describe('release names', () => {
  test('are labels of at most 53 characters', () => {
    expect(isReleaseName('a'.repeat(53))).toBe(true);
    expect(isReleaseName('a'.repeat(54))).toBe(false);
    expect(isReleaseName('web.v2')).toBe(false);
    expect(isReleaseName('-x')).toBe(false);
  });
});

describe('DNS-1123 subdomains', () => {
  test.each(['a', 'a.b', 'tcp-services', 'sh.helm.release.v1.web.v1'])('accepts %s', (name) => {
    expect(isDns1123Subdomain(name)).toBe(true);
  });

  test.each(['.a', 'a.', 'a..b', '-a.b', 'a.-b', `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`])(
    'rejects %s',
    (name) => {
      expect(isDns1123Subdomain(name)).toBe(false);
    },
  );

  test('allows 253 characters', () => {
    const name = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    expect(name).toHaveLength(253);
    expect(isDns1123Subdomain(name)).toBe(true);
  });
});

describe('DNS-1035 labels (Service names)', () => {
  test('must start with a letter', () => {
    expect(isDns1035Label('web')).toBe(true);
    expect(isDns1035Label('1web')).toBe(false);
  });
});

describe('regex sources', () => {
  test('work as JSON schema patterns with ajv', () => {
    const validate = compileValidator<{ ns: string; cm: string; svc: string }>({
      type: 'object',
      required: ['ns', 'cm', 'svc'],
      properties: {
        ns: { type: 'string', pattern: DNS1123_LABEL_PATTERN, maxLength: NAME_RULES.namespace.maxLength },
        cm: { type: 'string', pattern: DNS1123_SUBDOMAIN_PATTERN },
        svc: { type: 'string', pattern: DNS1035_LABEL_PATTERN },
      },
    });
    expect(validate({ ns: 'team-a', cm: 'tcp.services', svc: 'web' })).toEqual({ ns: 'team-a', cm: 'tcp.services', svc: 'web' });
    expect(() => validate({ ns: '-x', cm: 'ok', svc: 'web' })).toThrow(FunctionError);
    expect(() => validate({ ns: 'x', cm: 'ok', svc: '9web' })).toThrow(FunctionError);
  });
});

describe('assertValidName', () => {
  test('throws INVALID_INPUT naming the field', () => {
    try {
      assertValidName('release', 'Bad_Name', '/releaseName');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(FunctionError);
      expect((err as FunctionError).toJSON()).toEqual({
        error: {
          code: 'INVALID_INPUT',
          message: 'The request body is invalid',
          details: [
            {
              path: '/releaseName',
              message:
                "must be a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit) of at most 53 characters",
            },
          ],
        },
      });
    }
  });

  test('passes valid names', () => {
    expect(() => assertValidName('namespace', 'tenant-a')).not.toThrow();
  });
});
