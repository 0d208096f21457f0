// HTTP client for calling sibling functions through the OpenFaaS gateway
// (POST <gatewayUrl>/function/<name><path>), with global fetch.
//
// - The caller's Authorization header and X-Call-Id are forwarded, so the sibling authenticates the
//   same token and its logs carry the same call id.
// - A sibling's error body {"error":{code,message,details}} is rethrown with its code and status
//   unchanged (FunctionError.passthrough); anything else becomes UPSTREAM_ERROR or TIMEOUT.
// - Every sibling operation the orchestrators use is idempotent, so retrying is safe. Retried:
//   409 OPERATION_IN_PROGRESS (another delivery of the same request holds the release; waited out
//   until the call's deadline), 502/503 and connection failures (gateway or function not reachable,
//   Kubernetes API hiccups; a few attempts). Everything else is answered at once.
// - Each call has one deadline (AbortSignal.timeout) covering its attempts and backoff.
import type { Logger } from 'pino';
import { FunctionError } from '../errors.js';
import { backoffDelay, sleep } from '../backoff.js';

export interface RetryPolicy {
  /** Attempts for 502/503 and connection failures, including the first. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  random?: () => number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 200, maxDelayMs: 2000 };

export interface SiblingClientOptions {
  /** Gateway base URL, e.g. http://gateway.openfaas:8080 (no trailing slash needed). */
  gatewayUrl: string;
  /** Forwarded as is (the caller's `Authorization` header). */
  authorization?: string;
  /** Forwarded as X-Call-Id. */
  callId?: string;
  /** Cancels every call of this client (the incoming request's signal), unless a call is detached. */
  signal?: AbortSignal;
  /** Default deadline of one call, attempts and backoff included. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  log?: Logger;
  fetch?: typeof fetch;
}

export interface SiblingCall {
  /** Function name, e.g. "helm". */
  function: string;
  /** Path after /function/<name>, e.g. "/install". */
  path: string;
  method?: 'GET' | 'POST';
  body?: unknown;
  timeoutMs?: number;
  /** Ignore the client's signal: used by compensation, which must run after the caller went away. */
  detached?: boolean;
}

export interface SiblingResponse<T> {
  status: number;
  body: T;
}

export interface SiblingClient {
  call<T>(call: SiblingCall): Promise<SiblingResponse<T>>;
}

const DEFAULT_TIMEOUT_MS = 60_000;

interface ErrorEnvelope {
  error: { code: string; message: string; details?: unknown };
}

function isErrorEnvelope(value: unknown): value is ErrorEnvelope {
  const error = (value as ErrorEnvelope | undefined)?.error;
  return typeof error === 'object' && error !== null && typeof error.code === 'string' && typeof error.message === 'string';
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRetryable(err: unknown): { busy: boolean; transient: boolean } {
  if (!(err instanceof FunctionError)) return { busy: false, transient: false };
  if (err.status === 409 && err.code === 'OPERATION_IN_PROGRESS') return { busy: true, transient: false };
  const connection = err.code === 'UPSTREAM_ERROR' && (err.details as { connection?: boolean } | undefined)?.connection === true;
  return { busy: false, transient: err.status === 502 || err.status === 503 || connection };
}

export function createSiblingClient(options: SiblingClientOptions): SiblingClient {
  const gatewayUrl = options.gatewayUrl.replace(/\/+$/, '');
  const retry: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const doFetch = options.fetch ?? globalThis.fetch;

  async function attempt<T>(call: SiblingCall, signal: AbortSignal, label: string): Promise<SiblingResponse<T>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.authorization) headers.authorization = options.authorization;
    if (options.callId) headers['x-call-id'] = options.callId;
    const method = call.method ?? (call.body === undefined ? 'GET' : 'POST');
    let payload: string | undefined;
    if (call.body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(call.body);
    }
    let res: Response;
    let text: string;
    try {
      res = await doFetch(`${gatewayUrl}/function/${call.function}${call.path}`, { method, headers, body: payload, signal });
      text = await res.text();
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      throw new FunctionError('UPSTREAM_ERROR', `${label} could not be reached`, { function: call.function, path: call.path, connection: true, cause });
    }
    const body = parseJson(text);
    if (res.ok) {
      if (body === undefined && text.trim() !== '') {
        throw new FunctionError('UPSTREAM_ERROR', `${label} answered with a body that is not JSON`, { function: call.function, path: call.path, status: res.status });
      }
      return { status: res.status, body: body as T };
    }
    if (isErrorEnvelope(body)) throw FunctionError.passthrough(res.status, body.error);
    // The gateway's own errors (function not deployed, upstream timeout) are plain text.
    const details = { function: call.function, path: call.path, status: res.status, body: text.slice(0, 200) };
    if (res.status === 504) throw new FunctionError('TIMEOUT', `${label} timed out at the gateway`, details);
    const err = new FunctionError('UPSTREAM_ERROR', `${label} answered ${res.status}`, details);
    if (res.status < 500) (err as { status: number }).status = res.status;
    throw err;
  }

  async function call<T>(call: SiblingCall): Promise<SiblingResponse<T>> {
    const timeoutMs = call.timeoutMs ?? options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const label = `function ${call.function}${call.path}`;
    const deadline = AbortSignal.timeout(timeoutMs);
    const parent = call.detached ? undefined : options.signal;
    const signal = parent ? AbortSignal.any([deadline, parent]) : deadline;
    const timedOut = () =>
      new FunctionError('TIMEOUT', `${label} did not answer within ${timeoutMs >= 1000 ? `${Math.round(timeoutMs / 1000)}s` : `${timeoutMs}ms`}`, { function: call.function, path: call.path, timeoutMs });
    const cancelled = () => new FunctionError('CANCELLED', `${label} was cancelled`, { function: call.function, path: call.path });

    let transientFailures = 0;
    let busyWaits = 0;
    // Once a release was seen busy, running out of time means it still is: answer that.
    let busy: FunctionError | undefined;
    const expired = () => (parent?.aborted ? cancelled() : (busy ?? timedOut()));
    for (;;) {
      try {
        return await attempt<T>(call, signal, label);
      } catch (err) {
        if (signal.aborted) throw expired();
        const retryable = isRetryable(err);
        if (!retryable.busy && !retryable.transient) throw err;
        if (retryable.transient && ++transientFailures >= retry.attempts) throw err;
        if (retryable.busy) busy = err as FunctionError;
        const delay = retryable.busy
          ? backoffDelay(Math.min(busyWaits++, 4), retry) + retry.baseDelayMs
          : backoffDelay(transientFailures, retry);
        options.log?.debug({ function: call.function, path: call.path, code: (err as FunctionError).code, delay }, 'retrying sibling call');
        try {
          await sleep(delay, signal);
        } catch {
          throw expired();
        }
      }
    }
  }

  return { call };
}
