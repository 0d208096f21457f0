// Calls a function's handler in-process the way the runtime does: a FunctionRequest and context in,
// the status and body a caller would get out. A handler may only fail with a FunctionError; it is
// answered through the one error catalogue.
import type { Logger } from 'pino';
import { expect } from 'vitest';
import type { RuntimeConfig } from '#runtime/config.js';
import { FunctionError, toErrorResponse } from '#runtime/errors.js';
import { createLogger } from '#runtime/logger.js';
import type { FunctionHandler } from '#runtime/types.js';

const silent = createLogger({ level: 'silent' });

export interface Invocation {
  handler: FunctionHandler;
  config: RuntimeConfig;
  method: string;
  /** Default "/". */
  path?: string;
  /** The query string, e.g. "protocol=tcp&lbip=10.0.0.1". */
  query?: string | Record<string, string>;
  headers?: Record<string, string | undefined>;
  body?: unknown;
  callId?: string;
  log?: Logger;
  signal?: AbortSignal;
}

/** The whole answer to a body that fails validation. */
export function invalidInput(details: { path: string; message: string }[]): { status: number; body: unknown } {
  return { status: 400, body: { error: { code: 'INVALID_INPUT', message: 'The request body is invalid', details } } };
}

export async function invoke({
  handler,
  config,
  method,
  path = '/',
  query,
  headers = {},
  body,
  callId = 'c-1',
  log = silent,
  signal = new AbortController().signal,
}: Invocation): Promise<{ status: number; body: unknown }> {
  try {
    const res = await handler({ method, path, query: new URLSearchParams(query), headers, body }, { callId, log, config, signal });
    return { status: res.status ?? 200, body: res.body };
  } catch (err) {
    expect(err).toBeInstanceOf(FunctionError);
    return toErrorResponse(err);
  }
}
