// Kubernetes client factory and the retry policy for every Kubernetes API call.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { ApiException, CoreV1Api, KubeConfig, Observable, type ConfigurationOptions, type ObservableMiddleware } from '@kubernetes/client-node';
import type { RuntimeConfig } from './config.js';
import { FunctionError } from './errors.js';
import { backoffDelay, sleep } from './backoff.js';

/**
 * config.kubeconfig when set (a path, or several joined like $KUBECONFIG; the first file's context
 * wins, as with kubectl); otherwise client-node's default chain: $KUBECONFIG, ~/.kube/config, then
 * the in-cluster ServiceAccount.
 */
export function loadKubeConfig(config: Pick<RuntimeConfig, 'kubeconfig'>): KubeConfig {
  const kc = new KubeConfig();
  const files = (config.kubeconfig ?? '').split(path.delimiter).filter(Boolean);
  if (files.length === 0) {
    kc.loadFromDefault();
  } else {
    kc.loadFromFile(files[0]);
    for (const file of files.slice(1)) {
      const more = new KubeConfig();
      more.loadFromFile(file);
      kc.mergeConfig(more, true);
    }
  }
  // client-node 2.x refuses an http:// server unless TLS verification is off, although there is no
  // TLS to verify; kubectl and helm accept such a kubeconfig (kubectl proxy, local emulators) as is.
  kc.clusters = kc.clusters.map((c) => (c.server.startsWith('http://') ? { ...c, skipTLSVerify: true } : c));
  reuseConnections(kc);
  return kc;
}

type DispatcherFactory = (cluster: unknown, options: Record<string, unknown>) => unknown;

/**
 * client-node 2.x builds a new undici Agent for every request, so every call opens a new TCP (and
 * TLS) connection. Requests with the same server and TLS material share one Agent instead, which
 * keeps connections alive between calls. Should client-node change the (private) factory, this
 * does nothing and each request simply gets its own Agent again.
 */
function reuseConnections(kc: KubeConfig): void {
  const target = kc as unknown as { createDispatcher?: DispatcherFactory };
  const create = target.createDispatcher;
  if (typeof create !== 'function') return;
  const cache = new Map<string, unknown>();
  target.createDispatcher = (cluster, options) => {
    const key = createHash('sha256').update(JSON.stringify([cluster, options])).digest('hex');
    if (!cache.has(key)) {
      // Credentials that rotate (exec plugins) make new keys; keep only the latest few.
      if (cache.size >= 4) cache.delete(cache.keys().next().value!);
      cache.set(key, create.call(kc, cluster, options));
    }
    return cache.get(key);
  };
}

export function makeCoreV1Api(config: Pick<RuntimeConfig, 'kubeconfig'>): CoreV1Api {
  return loadKubeConfig(config).makeApiClient(CoreV1Api);
}

export interface RetryOptions {
  /** What the call does, for messages and error details (e.g. "replace ConfigMap ns/name"). */
  operation?: string;
  /** Total attempts including the first. */
  attempts?: number;
  /** Backoff: a uniformly random delay in [0, min(maxDelayMs, baseDelayMs * 2^n)] ("full jitter"). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Longest Retry-After honoured; a larger value is cut to this. */
  maxRetryAfterMs?: number;
  /** Per-attempt timeout: a hung API server fails the attempt instead of hanging the call. */
  timeoutMs?: number;
  /** Cancels the whole call, including pending backoff. */
  signal?: AbortSignal;
  random?: () => number;
}

export const DEFAULT_RETRY: Required<Omit<RetryOptions, 'signal' | 'operation'>> = {
  attempts: 5,
  baseDelayMs: 50,
  maxDelayMs: 1000,
  maxRetryAfterMs: 5000,
  timeoutMs: 4000,
  random: Math.random,
};

/** What each attempt receives: the attempt's signal and client-node options that carry it. */
export interface Attempt {
  signal: AbortSignal;
  /** Pass as the last argument of a client-node call so the HTTP request is aborted on timeout. */
  options: ConfigurationOptions;
  attempt: number;
}

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);

class AttemptTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }
}

/** HTTP status of a failed Kubernetes call (ApiException or an already mapped KUBE_API_ERROR). */
export function kubeStatus(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  if (err instanceof FunctionError && err.code === 'KUBE_API_ERROR') {
    return (err.details as KubeErrorDetails | undefined)?.status;
  }
  return undefined;
}

/** `reason` of the Kubernetes Status carried by a failed call (Conflict, AlreadyExists, NotFound...). */
export function kubeReason(err: unknown): string | undefined {
  if (err instanceof ApiException) return statusOf(err.body)?.reason;
  if (err instanceof FunctionError && err.code === 'KUBE_API_ERROR') {
    return (err.details as KubeErrorDetails | undefined)?.reason;
  }
  return undefined;
}

export const isNotFound = (err: unknown): boolean => kubeStatus(err) === 404;
/** 409 Conflict: the resourceVersion in a write was stale. */
export const isConflict = (err: unknown): boolean => kubeStatus(err) === 409 && kubeReason(err) !== 'AlreadyExists';
export const isAlreadyExists = (err: unknown): boolean => kubeStatus(err) === 409 && kubeReason(err) === 'AlreadyExists';

export interface KubeErrorDetails {
  operation?: string;
  status?: number;
  reason?: string;
  attempts: number;
  timeoutMs?: number;
}

function statusOf(body: unknown): { reason?: string; message?: string } | undefined {
  let value = body;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (value && typeof value === 'object') {
    const { reason, message } = value as { reason?: unknown; message?: unknown };
    return {
      reason: typeof reason === 'string' ? reason : undefined,
      message: typeof message === 'string' ? message : undefined,
    };
  }
  return undefined;
}

function retryAfterMs(err: unknown): number | undefined {
  if (!(err instanceof ApiException)) return undefined;
  const raw = err.headers?.['retry-after'] ?? err.headers?.['Retry-After'];
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Refused, reset, DNS, socket errors (undici's "fetch failed" wraps them in `cause`), or our timeout. */
function isTransportError(err: unknown): boolean {
  if (err instanceof AttemptTimeout) return true;
  if (err instanceof TypeError && err.message === 'fetch failed') return true;
  const code = errorCode(err) ?? errorCode((err as { cause?: unknown } | undefined)?.cause);
  return code !== undefined && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(code);
}

function isRetryable(err: unknown): boolean {
  if (err instanceof ApiException) return RETRYABLE_STATUS.has(err.code);
  return isTransportError(err);
}

/** The error a caller sees once retries are over. Keeps the Kubernetes status and reason. */
export function toKubeError(err: unknown, operation: string | undefined, attempts: number): FunctionError {
  if (err instanceof FunctionError) return err;
  const what = operation ? ` (${operation})` : '';
  if (err instanceof AttemptTimeout) {
    return new FunctionError(
      'KUBE_API_ERROR',
      `Kubernetes API did not answer within ${err.timeoutMs} ms${what}; gave up after ${attempts} attempt(s)`,
      { operation, reason: 'Timeout', attempts, timeoutMs: err.timeoutMs } satisfies KubeErrorDetails,
      { cause: err },
    );
  }
  if (err instanceof ApiException) {
    const status = statusOf(err.body);
    return new FunctionError(
      'KUBE_API_ERROR',
      `Kubernetes API answered ${err.code}${status?.reason ? ` ${status.reason}` : ''}${what}` +
        `${status?.message ? `: ${status.message}` : ''}${attempts > 1 ? `; gave up after ${attempts} attempts` : ''}`,
      { operation, status: err.code, reason: status?.reason, attempts } satisfies KubeErrorDetails,
      { cause: err },
    );
  }
  const message = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
  return new FunctionError(
    'KUBE_API_ERROR',
    `Kubernetes API unreachable${what}: ${message}; gave up after ${attempts} attempt(s)`,
    { operation, reason: 'Unreachable', attempts } satisfies KubeErrorDetails,
    { cause: err },
  );
}

/** client-node options that attach `signal` to the underlying fetch. */
export function signalOptions(signal: AbortSignal): ConfigurationOptions {
  // The object-parameter API (CoreV1Api) hands options straight to the observable API, so the
  // middleware answers with client-node's own Observable.
  const middleware: ObservableMiddleware = {
    pre: (context) => {
      context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post: (context) => new Observable(Promise.resolve(context)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

async function attemptOnce<T>(fn: (a: Attempt) => Promise<T>, attempt: number, timeoutMs: number, outer?: AbortSignal): Promise<T> {
  const controller = new AbortController();
  let timeout: AttemptTimeout | undefined;
  let timer: NodeJS.Timeout | undefined;
  const onOuterAbort = () => controller.abort(outer?.reason);
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  // Racing as well as aborting: whatever the client does with the signal, the call returns.
  const aborted = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timeout = new AttemptTimeout(timeoutMs);
      controller.abort(timeout);
      reject(timeout);
    }, timeoutMs);
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
  });
  aborted.catch(() => undefined);
  try {
    return await Promise.race([fn({ signal: controller.signal, options: signalOptions(controller.signal), attempt }), aborted]);
  } catch (err) {
    // fetch rejects with its own AbortError when our timer fired first; report the timeout.
    throw timeout ?? err;
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuterAbort);
  }
}

/**
 * Runs one Kubernetes API call with a per-attempt timeout, retrying 429/500/502/503/504, transport
 * errors and timeouts with bounded exponential backoff and full jitter (Retry-After honoured).
 * Other statuses fail at once. Every failure ends as FunctionError KUBE_API_ERROR whose details
 * carry the Kubernetes status and reason (see kubeStatus/kubeReason, isConflict, isNotFound).
 * Writes retried this way must be conditional (resourceVersion) or idempotent.
 */
export async function withRetry<T>(fn: (attempt: Attempt) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const o = { ...DEFAULT_RETRY, ...definedOnly(opts) };
  const attempts = Math.max(1, o.attempts);
  for (let attempt = 1; ; attempt++) {
    try {
      return await attemptOnce(fn, attempt, o.timeoutMs, opts.signal);
    } catch (err) {
      if (opts.signal?.aborted) throw cancelled(opts.operation, attempt);
      if (attempt >= attempts || !isRetryable(err)) throw toKubeError(err, opts.operation, attempt);
      const backoff = backoffDelay(attempt - 1, o);
      const hinted = retryAfterMs(err);
      const delay = hinted === undefined ? backoff : Math.min(Math.max(backoff, hinted), o.maxRetryAfterMs);
      try {
        await sleep(delay, opts.signal);
      } catch {
        throw cancelled(opts.operation, attempt);
      }
    }
  }
}

function cancelled(operation: string | undefined, attempts: number): FunctionError {
  return new FunctionError('CANCELLED', `Kubernetes API call cancelled${operation ? ` (${operation})` : ''}`, {
    operation,
    reason: 'Cancelled',
    attempts,
  } satisfies KubeErrorDetails);
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
