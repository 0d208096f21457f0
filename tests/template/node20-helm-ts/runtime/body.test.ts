import { PassThrough } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { describe, expect, test } from 'vitest';
import { ClientGoneError, MAX_JSON_DEPTH, parseJsonBody, readBody } from '#runtime/body.js';
import { FunctionError } from '#runtime/errors.js';

function fakeRequest(headers: Record<string, string> = {}): PassThrough & { headers: Record<string, string> } {
  return Object.assign(new PassThrough(), { headers });
}

describe('readBody', () => {
  test('returns the whole body under the limit', async () => {
    const req = fakeRequest();
    const result = readBody(req as unknown as IncomingMessage, 10);
    req.write('{"a":');
    req.end('1}');
    expect((await result).toString()).toBe('{"a":1}');
  });

  test('rejects a declared Content-Length over the limit before reading', async () => {
    const req = fakeRequest({ 'content-length': '11' });
    await expect(readBody(req as unknown as IncomingMessage, 10)).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      status: 413,
      details: { limitBytes: 10 },
    });
  });

  test('rejects as soon as the received bytes pass the limit and discards the rest', async () => {
    const req = fakeRequest();
    const result = readBody(req as unknown as IncomingMessage, 10);
    req.write('123456');
    req.write('78901');
    await expect(result).rejects.toBeInstanceOf(FunctionError);
    // The stream keeps flowing into nothing, so a sender is never blocked.
    expect(req.write('x'.repeat(1000))).toBe(true);
    expect(req.listenerCount('data')).toBe(0);
  });

  test('reports a client that goes away mid-body', async () => {
    const req = fakeRequest();
    const result = readBody(req as unknown as IncomingMessage, 10);
    req.write('12');
    req.destroy();
    await expect(result).rejects.toBeInstanceOf(ClientGoneError);
  });
});

describe('parseJsonBody', () => {
  test.each([
    ['', undefined],
    ['  \r\n', undefined],
    ['{"a":[1,"x"]}', { a: [1, 'x'] }],
    ['\ufeff{"bom":true}', { bom: true }],
    ['"text"', 'text'],
    ['null', null],
  ])('%j parses to %j', (text, value) => {
    expect(parseJsonBody(Buffer.from(text))).toEqual(value);
  });

  test.each(['{', 'a=1', '{"a":1}{}', "{'a':1}"])('%j is INVALID_INPUT', (text) => {
    expect(() => parseJsonBody(Buffer.from(text))).toThrow(new FunctionError('INVALID_INPUT', 'The request body is not valid JSON'));
  });
});

describe('parseJsonBody nesting limit', () => {
  const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

  test(`accepts ${MAX_JSON_DEPTH} levels`, () => {
    expect(() => parseJsonBody(Buffer.from(nested(MAX_JSON_DEPTH)))).not.toThrow();
    expect(parseJsonBody(Buffer.from('{"a":{"b":[1,{"c":null}]}}'))).toEqual({ a: { b: [1, { c: null }] } });
  });

  test('refuses deeper bodies (hostile nesting would overflow recursive code downstream)', () => {
    for (const depth of [MAX_JSON_DEPTH + 1, 20_000]) {
      expect(() => parseJsonBody(Buffer.from(`{"valuesObject":${nested(depth)}}`))).toThrow(
        new FunctionError('INVALID_INPUT', `The request body is nested deeper than ${MAX_JSON_DEPTH} levels`),
      );
    }
  });
});
