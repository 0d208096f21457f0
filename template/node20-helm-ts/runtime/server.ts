// The HTTP runtime of-watchdog (mode=http) proxies to: health, auth, body limits, JSON in and out,
// call ids, error mapping, and cancellation of handlers when the caller leaves or the runtime stops.
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createAuthenticator, type Authenticator } from './auth.js';
import { ClientGoneError, parseJsonBody, readBody } from './body.js';
import { loadConfig, type RuntimeConfig } from './config.js';
import { FunctionError, toErrorResponse } from './errors.js';
import { createLogger, requestLogger } from './logger.js';
import type { FunctionHandler, FunctionRequest, FunctionResponse } from './types.js';

export const HEALTH_PATH = '/_/health';

const CALL_ID = /^[\w.:-]{1,128}$/;
// Headers the runtime owns; a handler cannot set them.
const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'transfer-encoding', 'connection', 'x-call-id']);

/** Counts calls in progress so shutdown can wait for them. */
export class Inflight {
  #count = 0;
  #waiters = new Set<() => void>();

  get count(): number {
    return this.#count;
  }

  enter(): () => void {
    this.#count++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      if (--this.#count === 0) for (const wake of this.#waiters) wake();
    };
  }

  /** Resolves true once nothing is in flight, or false when `timeoutMs` passes first. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.#count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve(value);
      };
      const wake = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      timer.unref();
      this.#waiters.add(wake);
    });
  }
}

export interface RequestListenerOptions {
  handler: FunctionHandler;
  /** Logged as `fn` on every line. */
  functionName: string;
  /** Defaults to loadConfig(process.env). */
  config?: RuntimeConfig;
  /** Defaults to createLogger({ name: functionName }). */
  logger?: Logger;
  /** Defaults to createAuthenticator({ config, log }). */
  authenticator?: Authenticator;
  /** Aborting it cancels every handler in progress (runtime shutdown). */
  shutdownSignal?: AbortSignal;
  /** Tracks calls in progress (used by startFunctionServer to drain on shutdown). */
  inflight?: Inflight;
}

function callIdOf(req: IncomingMessage): string {
  const given = req.headers['x-call-id'];
  return typeof given === 'string' && CALL_ID.test(given) ? given : randomUUID();
}

// req.url is origin-form ("/install?x=1") behind of-watchdog, possibly with repeated leading
// slashes once a gateway strips /function/<name>; absolute-form is accepted as well.
function parseTarget(rawUrl: string | undefined): { path: string; query: URLSearchParams } {
  let target = rawUrl || '/';
  if (/^[a-z][a-z\d+.-]*:\/\//i.test(target)) {
    const u = new URL(target);
    target = u.pathname + u.search;
  }
  target = `/${target.replace(/^\/+/, '')}`;
  const u = new URL(target, 'http://function.local');
  return { path: u.pathname, query: u.searchParams };
}

function headersOf(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function checkResponse(result: unknown): FunctionResponse {
  const r = (result ?? {}) as FunctionResponse;
  if (typeof r !== 'object') throw new Error('handler returned a non-object response');
  if (r.status !== undefined && !(Number.isInteger(r.status) && r.status >= 200 && r.status <= 599)) {
    throw new Error(`handler returned invalid status ${String(r.status)}`);
  }
  return r;
}

export function createRequestListener(options: RequestListenerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { handler, functionName } = options;
  const config = options.config ?? loadConfig(process.env);
  const baseLog = options.logger ?? createLogger({ name: functionName });
  const auth = options.authenticator ?? createAuthenticator({ config, log: baseLog });
  const shutdownSignal = options.shutdownSignal ?? new AbortController().signal;
  const inflight = options.inflight ?? new Inflight();

  return (req, res) => {
    const started = performance.now();
    const callId = callIdOf(req);
    const method = req.method ?? 'GET';
    const log = requestLogger(baseLog, callId);

    const send = (status: number, body: unknown, headers: Record<string, string> = {}, closeAfter = false) => {
      if (res.headersSent || res.destroyed) return false;
      const payload = status === 204 || status === 304 ? '' : JSON.stringify(body ?? {});
      const out: Record<string, string | number> = {};
      for (const [name, value] of Object.entries(headers)) {
        if (!RESERVED_HEADERS.has(name.toLowerCase())) out[name] = value;
      }
      out['content-type'] = 'application/json';
      out['content-length'] = Buffer.byteLength(payload);
      out['x-call-id'] = callId;
      if (closeAfter) out.connection = 'close';
      res.writeHead(status, out);
      res.end(payload);
      return true;
    };

    let target: { path: string; query: URLSearchParams };
    try {
      target = parseTarget(req.url);
    } catch {
      send(400, new FunctionError('INVALID_INPUT', 'The request target is invalid').toJSON(), {}, true);
      return;
    }
    const { path, query } = target;

    if (path === HEALTH_PATH && (method === 'GET' || method === 'HEAD')) {
      send(200, { status: 'ok' });
      return;
    }

    const leave = inflight.enter();
    const caller = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) caller.abort(new Error('client disconnected'));
      leave();
    });
    const signal = AbortSignal.any([caller.signal, shutdownSignal]);

    const finish = (status: number, extra: Record<string, unknown> = {}) => {
      log.info({ method, path, status, durationMs: Math.round(performance.now() - started), ...extra }, 'call completed');
    };

    const fail = (err: unknown) => {
      if (err instanceof ClientGoneError || (res.destroyed && !res.headersSent)) {
        log.info({ method, path }, 'client disconnected before the response');
        return;
      }
      const { status, body } = toErrorResponse(err);
      if (status >= 500) log.error({ err, code: body.error.code }, 'call failed');
      // A body that was not read to the end is not worth draining: close the connection instead.
      const unread = !req.readableEnded;
      try {
        if (send(status, body, {}, unread)) finish(status, { code: body.error.code });
      } catch (sendErr) {
        log.error({ err: sendErr }, 'could not send the error response');
        res.destroy();
      }
    };

    const run = async () => {
      const encoding = req.headers['content-encoding'];
      if (encoding && encoding.toLowerCase() !== 'identity') {
        throw new FunctionError('UNSUPPORTED_MEDIA_TYPE', 'Compressed request bodies are not supported');
      }
      const credentials = { authorization: req.headers.authorization, signature: req.headers['x-hub-signature-256'] as string | undefined };
      // A signature can only be checked against the whole body; a token is checked before reading it.
      let raw = auth.needsBody(credentials) ? await readBody(req, config.maxBodyBytes) : undefined;
      await auth.verify(credentials, { rawBody: raw, log });
      raw ??= await readBody(req, config.maxBodyBytes);

      const request: FunctionRequest = { method, path, query, headers: headersOf(req), body: parseJsonBody(raw) };
      const result = checkResponse(await handler(request, { callId, log, config, signal }));
      if (res.destroyed) {
        log.info({ method, path }, 'client disconnected before the response');
        return;
      }
      const status = result.status ?? 200;
      if (send(status, result.body, result.headers ?? {})) finish(status);
    };

    run().catch(fail);
  };
}

export interface StartOptions extends RequestListenerOptions {
  /** Defaults to 3000, the port of-watchdog's upstream_url points at; 0 picks a free port. */
  port?: number;
  /** Defaults to 127.0.0.1: only the watchdog in the same container should reach the runtime. */
  host?: string;
}

export interface FunctionServer {
  url: string;
  server: http.Server;
  /**
   * Stops accepting, waits up to `graceMs` (env SHUTDOWN_GRACE_MS, default 10000) for calls in
   * progress, then aborts their signals and waits up to `forceMs` more before closing every socket.
   */
  close(options?: { graceMs?: number; forceMs?: number }): Promise<void>;
}

const servers = new WeakMap<http.Server, FunctionServer>();

/** The FunctionServer started for `server`, if it was started by startFunctionServer. */
export function functionServerOf(server: http.Server): FunctionServer | undefined {
  return servers.get(server);
}

export function shutdownGraceMs(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number.parseInt(env.SHUTDOWN_GRACE_MS ?? '', 10);
  return Number.isFinite(n) && n >= 0 ? n : 10_000;
}

/** Listens on host:port (a listen error such as EADDRINUSE rejects); answers the server's base URL. */
export async function listen(server: http.Server, { port, host }: { port: number; host: string }): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port: bound } = server.address() as AddressInfo;
  return `http://${address.includes(':') ? `[${address}]` : address}:${bound}`;
}

export async function startFunctionServer(options: StartOptions): Promise<FunctionServer> {
  const config = options.config ?? loadConfig(process.env);
  const logger = options.logger ?? createLogger({ name: options.functionName });
  const shutdown = new AbortController();
  const inflight = new Inflight();
  const listener = createRequestListener({ ...options, config, logger, shutdownSignal: shutdown.signal, inflight });

  const server = http.createServer(listener);
  // Longer than any proxy's idle timeout, so the proxy never reuses a socket we are closing.
  server.keepAliveTimeout = 65_000;
  const url = await listen(server, { port: options.port ?? 3000, host: options.host ?? '127.0.0.1' });

  let closing: Promise<void> | undefined;
  // A later close() may shorten the grace period of one already in progress.
  let endGrace!: () => void;
  const graceEnded = new Promise<boolean>((resolve) => (endGrace = () => resolve(false)));
  const functionServer: FunctionServer = {
    url,
    server,
    close({ graceMs = shutdownGraceMs(), forceMs = 5_000 } = {}) {
      setTimeout(endGrace, graceMs).unref();
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        if (!(await Promise.race([inflight.idle(graceMs), graceEnded]))) {
          logger.warn({ inflight: inflight.count }, 'grace period over: cancelling calls in progress');
          shutdown.abort(new Error('runtime shutting down'));
          await inflight.idle(forceMs);
        }
        server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
  servers.set(server, functionServer);
  logger.info({ url }, 'function runtime listening');
  return functionServer;
}
