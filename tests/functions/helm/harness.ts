// Calls the helm function in-process the way the runtime does: a FunctionRequest and context in,
// status and JSON body out (errors through the one error catalogue).
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { RuntimeConfig } from '#runtime/config.js';
import type { FunctionHandler } from '#runtime/types.js';
import { handler as defaultHandler } from '../../../functions/helm/handler.js';
import { invoke } from '../invoke.js';

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
  const res = await invoke({ handler: options.handler ?? defaultHandler, config, method, path, query: options.query, body, callId: 'test', log: nullLogger, signal: options.signal });
  // As a caller sees it: what JSON leaves out (undefined fields) is gone.
  return { status: res.status, body: JSON.parse(JSON.stringify(res.body ?? null)) };
}
