// Calls the helm function in-process the way the runtime does: a FunctionRequest and context in,
// status and JSON body out (errors through the one error catalogue).
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { RuntimeConfig } from '#runtime/config.js';
import { toErrorResponse } from '#runtime/errors.js';
import type { FunctionContext, FunctionHandler } from '#runtime/types.js';
import { handler as defaultHandler } from '../../../functions/helm/handler.js';

export const nullLogger = pino({ level: 'debug' }, new Writable({ write: (_chunk, _enc, done) => done() }));

export interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export async function call(
  config: RuntimeConfig,
  method: string,
  path: string,
  body?: unknown,
  options: { query?: Record<string, string>; signal?: AbortSignal; handler?: FunctionHandler } = {},
): Promise<Answer> {
  const handler = options.handler ?? defaultHandler;
  const ctx: FunctionContext = { callId: 'test', log: nullLogger, config, signal: options.signal ?? new AbortController().signal };
  try {
    const res = await handler({ method, path, query: new URLSearchParams(options.query), headers: {}, body }, ctx);
    return { status: res.status ?? 200, body: JSON.parse(JSON.stringify(res.body ?? null)) };
  } catch (err) {
    const { status, body: errorBody } = toErrorResponse(err);
    return { status, body: JSON.parse(JSON.stringify(errorBody)) };
  }
}
