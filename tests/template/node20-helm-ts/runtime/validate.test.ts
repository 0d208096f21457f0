import { describe, expect, test } from 'vitest';
import { compileValidator } from '#runtime/validate.js';
import { FunctionError } from '#runtime/errors.js';

describe('compileValidator', () => {
  const validate = compileValidator<{ name: string; n?: number }>({
    type: 'object',
    additionalProperties: false,
    required: ['name'],
    properties: { name: { type: 'string', minLength: 1 }, n: { type: 'integer', default: 3 } },
  });

  test('returns the body with defaults applied', () => {
    expect(validate({ name: 'a' })).toEqual({ name: 'a', n: 3 });
  });

  test('throws INVALID_INPUT listing every problem', () => {
    try {
      validate({ extra: 1, n: 'x' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(FunctionError);
      const e = err as FunctionError;
      expect(e.code).toBe('INVALID_INPUT');
      expect(e.status).toBe(400);
      const paths = (e.details as { path: string; message: string }[]).map((d) => d.path + ' ' + d.message);
      expect(paths).toContain('/ must have required property \'name\'');
      expect(paths).toContain('/ unknown property "extra"');
      expect(paths).toContain('/n must be integer');
    }
  });
});
