// A local stand-in for the OpenFaaS gateway: every function folder under functions/ is served in
// this process through the same runtime listener as in its container (auth, body limit, JSON,
// X-Call-Id), at the gateway's paths:
//
//   /function/<name>[/<sub path>]        synchronous call; the function sees only /<sub path>
//   /async-function/<name>[/<sub path>]  202 + X-Call-Id at once, the call runs in the background;
//                                        with X-Callback-Url the result is POSTed there with
//                                        X-Call-Id, X-Function-Status-Code, X-Function-Name
//   /healthz, /system/functions
//
// Functions calling siblings (GATEWAY_URL) are pointed back at this gateway.
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { loadConfig } from '#runtime/config.js';
import { createLogger } from '#runtime/logger.js';
import { createRequestListener, Inflight, listen } from '#runtime/server.js';
import type { FunctionHandler } from '#runtime/types.js';

export const FUNCTIONS_DIR = fileURLToPath(new URL('../functions/', import.meta.url));

export interface GatewayOptions {
  /** Function names to serve; defaults to every folder of functionsDir with a handler.ts. */
  functions?: string[];
  functionsDir?: string;
  /** Environment every function's config is loaded from (like the container env); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Per-function environment on top of env (stack.yml `environment`). */
  functionEnv?: Record<string, NodeJS.ProcessEnv>;
  /** Defaults to 0 (a free port). */
  port?: number;
  /** Defaults to 127.0.0.1. */
  host?: string;
  /** Base URL the functions use to call siblings; defaults to this gateway's own URL. */
  gatewayUrl?: string;
  /** Gateway's own log (async calls, callbacks); functions log through createLogger. */
  logger?: Logger;
}

export interface Gateway {
  url: string;
  server: http.Server;
  functions: string[];
  /** Background (async) calls still running or delivering their callback. */
  pendingAsync(): number;
  /** Stops accepting, waits for calls and async jobs (bounded), then closes every connection. */
  close(): Promise<void>;
}

const HOP_HEADERS = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'x-callback-url', 'expect']);
const CALL_ID = /^[\w.:-]{1,128}$/;
const ASYNC_BODY_LIMIT = 10 * 1024 * 1024;

export function listFunctions(functionsDir: string = FUNCTIONS_DIR): string[] {
  if (!existsSync(functionsDir)) return [];
  return readdirSync(functionsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(functionsDir, d.name, 'handler.ts')))
    .map((d) => d.name)
    .sort();
}

async function loadHandler(functionsDir: string, name: string): Promise<FunctionHandler> {
  const mod = (await import(path.join(functionsDir, name, 'handler.ts'))) as { handler?: FunctionHandler; default?: FunctionHandler };
  const handler = mod.handler ?? mod.default;
  if (typeof handler !== 'function') throw new Error(`functions/${name}/handler.ts exports no handler`);
  return handler;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}

function notFound(res: ServerResponse, what: string): void {
  sendJson(res, 404, { error: { code: 'NOT_FOUND', message: `No such function: ${what}` } });
}

function readAll(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** "/function/helm/install?x=1" -> { name: "helm", rest: "/install?x=1" }. */
function route(url: string, prefix: string): { name: string; rest: string } | undefined {
  const u = new URL(url, 'http://gateway.local');
  if (!u.pathname.startsWith(prefix)) return undefined;
  const [name = '', ...sub] = u.pathname.slice(prefix.length).split('/');
  return { name, rest: `/${sub.join('/')}${u.search}` };
}

export async function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const functionsDir = options.functionsDir ?? FUNCTIONS_DIR;
  const names = options.functions ?? listFunctions(functionsDir);
  const env = options.env ?? process.env;
  const log = options.logger ?? createLogger({ name: 'gateway', env });
  const shutdown = new AbortController();
  const inflight = new Inflight();
  const asyncJobs = new Set<Promise<void>>();
  const listeners = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
  let url = '';

  async function runAsync(req: IncomingMessage, res: ServerResponse, name: string, rest: string): Promise<void> {
    let body: Buffer;
    try {
      body = await readAll(req, ASYNC_BODY_LIMIT);
    } catch {
      if (!res.headersSent) sendJson(res, 413, { error: { code: 'PAYLOAD_TOO_LARGE', message: 'Request body too large' } });
      return;
    }
    const given = req.headers['x-call-id'];
    const callId = typeof given === 'string' && CALL_ID.test(given) ? given : randomUUID();
    const callbackUrl = req.headers['x-callback-url'] as string | undefined;
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(req.headers)) {
      if (!HOP_HEADERS.has(key) && value !== undefined) headers[key] = Array.isArray(value) ? value.join(', ') : value;
    }
    headers['x-call-id'] = callId;
    const method = req.method ?? 'POST';
    res.writeHead(202, { 'x-call-id': callId, 'x-start-time': String(Date.now()), 'content-length': 0 });
    res.end();

    const job = (async () => {
      const started = performance.now();
      let status: number;
      let result: Buffer;
      let contentType = 'application/json';
      try {
        const answer = await fetch(`${url}/function/${name}${rest}`, {
          method,
          headers,
          body: method === 'GET' || method === 'HEAD' ? undefined : new Uint8Array(body),
          signal: shutdown.signal,
        });
        status = answer.status;
        contentType = answer.headers.get('content-type') ?? contentType;
        result = Buffer.from(await answer.arrayBuffer());
      } catch (err) {
        status = 502;
        result = Buffer.from(JSON.stringify({ error: { code: 'UPSTREAM_ERROR', message: `async call failed: ${(err as Error).message}` } }));
      }
      log.info({ fn: name, callId, status, callbackUrl }, 'async call completed');
      if (!callbackUrl) return;
      try {
        const delivered = await fetch(callbackUrl, {
          method: 'POST',
          headers: {
            'content-type': contentType,
            'x-call-id': callId,
            'x-function-status-code': String(status),
            'x-function-name': name,
            'x-duration-seconds': ((performance.now() - started) / 1000).toFixed(3),
          },
          body: new Uint8Array(result),
          signal: AbortSignal.timeout(30_000),
        });
        await delivered.arrayBuffer();
      } catch (err) {
        log.warn({ fn: name, callId, callbackUrl, err: (err as Error).message }, 'callback delivery failed');
      }
    })();
    asyncJobs.add(job);
    void job.finally(() => asyncJobs.delete(job));
  }

  const server = http.createServer((req, res) => {
    const rawUrl = req.url ?? '/';
    const pathname = new URL(rawUrl, 'http://gateway.local').pathname;
    if (pathname === '/healthz') {
      sendJson(res, 200, { status: 'ok', functions: [...listeners.keys()] });
      return;
    }
    if (pathname === '/system/functions' && req.method === 'GET') {
      sendJson(res, 200, [...listeners.keys()].map((name) => ({ name, replicas: 1, availableReplicas: 1 })));
      return;
    }
    const sync = route(rawUrl, '/function/');
    if (sync) {
      const listener = listeners.get(sync.name);
      if (!listener) return notFound(res, sync.name);
      req.url = sync.rest;
      listener(req, res);
      return;
    }
    const background = route(rawUrl, '/async-function/');
    if (background) {
      if (!listeners.has(background.name)) return notFound(res, background.name);
      void runAsync(req, res, background.name, background.rest);
      return;
    }
    sendJson(res, 404, { error: { code: 'NOT_FOUND', message: 'No such route' } });
  });
  server.keepAliveTimeout = 65_000;
  url = await listen(server, { port: options.port ?? 0, host: options.host ?? '127.0.0.1' });
  const gatewayUrl = options.gatewayUrl ?? url;

  try {
    for (const name of names) {
      const handler = await loadHandler(functionsDir, name);
      const fnEnv = { ...env, ...options.functionEnv?.[name], GATEWAY_URL: gatewayUrl };
      const config = loadConfig(fnEnv);
      const logger = createLogger({ name, env: fnEnv });
      listeners.set(name, createRequestListener({ handler, functionName: name, config, logger, shutdownSignal: shutdown.signal, inflight }));
    }
  } catch (err) {
    server.close();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    url,
    server,
    functions: [...listeners.keys()],
    pendingAsync: () => asyncJobs.size,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const drained = Promise.all([inflight.idle(5_000), Promise.allSettled([...asyncJobs])]);
        const timer = new Promise((resolve) => setTimeout(resolve, 5_000).unref());
        await Promise.race([drained, timer]);
        shutdown.abort(new Error('gateway shutting down'));
        await Promise.race([Promise.allSettled([...asyncJobs]), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
        server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
}
