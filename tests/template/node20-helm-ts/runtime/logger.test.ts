import { describe, expect, test } from 'vitest';
import { createLogger, REDACTED, requestLogger } from '#runtime/logger.js';
import { captureLogs } from '../log-capture.js';

describe('createLogger', () => {
  test.each([
    [{ LOG_LEVEL: 'debug' }, 'debug'],
    [{ LOG_LEVEL: 'WARN' }, 'warn'],
    [{ LOG_LEVEL: 'silent' }, 'silent'],
    [{ LOG_LEVEL: 'loud' }, 'info'],
    [{}, 'info'],
  ])('takes the level from LOG_LEVEL: %j -> %s', (env, level) => {
    expect(createLogger({ env }).level).toBe(level);
  });

  test('an explicit level wins over LOG_LEVEL', () => {
    expect(createLogger({ env: { LOG_LEVEL: 'debug' }, level: 'error' }).level).toBe('error');
  });
});

describe('redaction', () => {
  test.each([
    ['authorization header', { headers: { authorization: 'Bearer abc' } }, { headers: { authorization: REDACTED } }],
    ['hub signature', { req: { headers: { 'x-hub-signature-256': 'sha256=00' } } }, { req: { headers: { 'x-hub-signature-256': REDACTED } } }],
    ['top-level token', { token: 'abc' }, { token: REDACTED }],
    ['chart values', { request: { values: { a: 1 }, valuesObject: { b: 2 } } }, { request: { values: REDACTED, valuesObject: REDACTED } }],
    ['repository password', { body: { repo: { password: 'pw', username: 'u' } } }, { body: { repo: { password: REDACTED, username: 'u' } } }],
    ['credentials', { credentials: { user: 'u' } }, { credentials: REDACTED }],
    ['kubeconfig', { config: { kubeconfig: '/path' } }, { config: { kubeconfig: REDACTED } }],
  ])('hides %s', (_name, object, expected) => {
    const logs = captureLogs();
    logs.logger.info(object, 'line');
    expect(logs.lines()[0]).toMatchObject(expected);
  });

  test('does not touch the object that was logged', () => {
    const logs = captureLogs();
    const object = { values: { a: 1 } };
    logs.logger.info(object, 'line');
    expect(object).toEqual({ values: { a: 1 } });
  });
});

describe('requestLogger', () => {
  test('adds reqId and bindings to every line', () => {
    const logs = captureLogs();
    const log = requestLogger(logs.logger, 'call-1', { route: '/install' });
    log.info('a');
    log.child({ step: 2 }).warn('b');
    expect(logs.lines().map((l) => [l.reqId, l.route, l.fn, l.msg])).toEqual([
      ['call-1', '/install', 'test-fn', 'a'],
      ['call-1', '/install', 'test-fn', 'b'],
    ]);
  });
});
