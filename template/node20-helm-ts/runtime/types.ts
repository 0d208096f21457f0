import type { Logger } from 'pino';
import type { RuntimeConfig } from './config.js';

/** One HTTP call as a function sees it (the OpenFaaS gateway strips /function/<name>). */
export interface FunctionRequest {
  method: string;
  /** Path after /function/<name>, always starting with "/" (e.g. "/install"). */
  path: string;
  query: URLSearchParams;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  /** Parsed JSON body, or undefined when the body is empty. */
  body: unknown;
}

export interface FunctionContext {
  /** X-Call-Id from the gateway, or a generated id. */
  callId: string;
  log: Logger;
  config: RuntimeConfig;
  /** Aborted when the client goes away or the runtime shuts down. */
  signal: AbortSignal;
}

export interface FunctionResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export type FunctionHandler = (req: FunctionRequest, ctx: FunctionContext) => Promise<FunctionResponse>;
