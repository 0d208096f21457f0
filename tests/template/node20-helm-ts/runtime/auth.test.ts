import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { bearerToken, createAuthenticator, safeEqual, signBody } from '#runtime/auth.js';
import { FunctionError } from '#runtime/errors.js';
import { captureLogs } from '../log-capture.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'runtime-auth-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function outcome(p: Promise<void>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    expect(err).toBeInstanceOf(FunctionError);
    expect((err as FunctionError).toJSON()).toEqual({ error: { code: 'UNAUTHORIZED', message: 'Unauthorized' } });
    return 'unauthorized';
  }
}

describe('safeEqual', () => {
  test('compares through digests, so inputs of different lengths are fine', () => {
    expect(safeEqual('secret', 'secret')).toBe(true);
    expect(safeEqual('secret', 'secreT')).toBe(false);
    expect(safeEqual('secret', 'secret-but-longer')).toBe(false);
    expect(safeEqual('', 'x')).toBe(false);
    expect(safeEqual(Buffer.from('abc'), 'abc')).toBe(true);
  });
});

describe('bearerToken', () => {
  test.each([
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    ['Bearer   abc  ', 'abc'],
    ['Bearer', undefined],
    ['Bearer a b', undefined],
    ['Basic abc', undefined],
    ['abc', undefined],
    [undefined, undefined],
  ])('%j -> %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });
});

describe('createAuthenticator', () => {
  test('reads the token from the secret file without its trailing newline', async () => {
    await writeFile(path.join(dir, 'tok'), 's3cret\n');
    const auth = createAuthenticator({ config: { secretsDir: dir, authSecretName: 'tok' }, log: captureLogs().logger });
    expect(auth.enabled).toBe(true);
    expect(await outcome(auth.verify({ authorization: 'Bearer s3cret' }))).toBe('ok');
    expect(await outcome(auth.verify({ authorization: 'Bearer s3cret\n' }))).toBe('unauthorized');
    expect(await outcome(auth.verify({ authorization: 'Bearer s3cre' }))).toBe('unauthorized');
    expect(await outcome(auth.verify({}))).toBe('unauthorized');
  });

  test('checks an HMAC signature of the raw body', async () => {
    await writeFile(path.join(dir, 'tok'), 's3cret');
    const auth = createAuthenticator({ config: { secretsDir: dir, authSecretName: 'tok' }, log: captureLogs().logger });
    const body = Buffer.from('{"a":1}');
    const signature = signBody(body, 's3cret');
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(auth.needsBody({ signature })).toBe(true);
    expect(auth.needsBody({ signature, authorization: 'Bearer x' })).toBe(false);
    expect(await outcome(auth.verify({ signature }, { rawBody: body }))).toBe('ok');
    expect(await outcome(auth.verify({ signature: signature.toUpperCase().replace('SHA256', 'sha256') }, { rawBody: body }))).toBe('ok');
    expect(await outcome(auth.verify({ signature }, { rawBody: Buffer.from('{"a":2}') }))).toBe('unauthorized');
    expect(await outcome(auth.verify({ signature }))).toBe('unauthorized');
  });

  test('picks up a rotated secret once the recheck interval has passed', async () => {
    const file = path.join(dir, 'tok');
    await writeFile(file, 'old-token');
    let now = 0;
    const auth = createAuthenticator({
      config: { secretsDir: dir, authSecretName: 'tok' },
      log: captureLogs().logger,
      recheckMs: 1000,
      now: () => now,
    });
    expect(await outcome(auth.verify({ authorization: 'Bearer old-token' }))).toBe('ok');
    await writeFile(file, 'new-token-of-another-length');
    now = 500;
    expect(await outcome(auth.verify({ authorization: 'Bearer old-token' }))).toBe('ok');
    now = 1500;
    expect(await outcome(auth.verify({ authorization: 'Bearer old-token' }))).toBe('unauthorized');
    expect(await outcome(auth.verify({ authorization: 'Bearer new-token-of-another-length' }))).toBe('ok');
  });

  test('fails closed while the secret is missing or empty, logging each change once', async () => {
    const file = path.join(dir, 'tok');
    const logs = captureLogs();
    let now = 0;
    const auth = createAuthenticator({
      config: { secretsDir: dir, authSecretName: 'tok' },
      log: logs.logger,
      recheckMs: 10,
      now: () => now,
    });
    for (let i = 0; i < 3; i++, now += 100) {
      expect(await outcome(auth.verify({ authorization: 'Bearer ' }))).toBe('unauthorized');
      expect(await outcome(auth.verify({ authorization: 'Bearer anything' }))).toBe('unauthorized');
    }
    await writeFile(file, '\n');
    now += 100;
    expect(await outcome(auth.verify({ authorization: 'Bearer anything' }))).toBe('unauthorized');
    await writeFile(file, 'tok-1');
    now += 100;
    expect(await outcome(auth.verify({ authorization: 'Bearer tok-1' }))).toBe('ok');
    await unlink(file);
    now += 100;
    expect(await outcome(auth.verify({ authorization: 'Bearer tok-1' }))).toBe('unauthorized');

    const changes = logs.lines().filter((l) => l.level >= 30).map((l) => [l.level, l.msg, l.reason ?? null]);
    expect(changes).toEqual([
      [50, 'auth secret unavailable: every call is refused', 'secret file unreadable: ENOENT'],
      [50, 'auth secret unavailable: every call is refused', 'secret file is empty'],
      [30, 'auth secret available again', null],
      [50, 'auth secret unavailable: every call is refused', 'secret file unreadable: ENOENT'],
    ]);
  });

  test('logs the reason of a refusal at debug level on the given logger only', async () => {
    await writeFile(path.join(dir, 'tok'), 's3cret');
    const base = captureLogs();
    const call = captureLogs();
    const auth = createAuthenticator({ config: { secretsDir: dir, authSecretName: 'tok' }, log: base.logger });
    await outcome(auth.verify({ authorization: 'Token s3cret' }, { log: call.logger }));
    await outcome(auth.verify({ authorization: 'Bearer nope' }, { log: call.logger }));
    expect(call.lines().map((l) => [l.level, l.msg, l.reason])).toEqual([
      [20, 'unauthorized', 'malformed authorization header'],
      [20, 'unauthorized', 'token mismatch'],
    ]);
    expect(base.raw()).not.toContain('s3cret');
  });

  test('is disabled by an empty secret name, with a warning', async () => {
    const logs = captureLogs();
    const auth = createAuthenticator({ config: { secretsDir: dir, authSecretName: '' }, log: logs.logger });
    expect(auth.enabled).toBe(false);
    expect(await outcome(auth.verify({}))).toBe('ok');
    expect(logs.lines()).toMatchObject([{ level: 40, msg: 'auth disabled: AUTH_SECRET_NAME is empty, every call is accepted' }]);
  });
});
