/**
 * The HTTP front of the emulator: routes Kubernetes API URLs to discovery, OpenAPI and the
 * generic REST handlers, decodes bodies (JSON, YAML, Kubernetes protobuf), applies authorization
 * and injected faults, streams watches, logs every request, and serves the `/_emulator/*`
 * control endpoints used by out-of-process tests.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { aggregatedContentType, aggregatedDiscovery, apiGroup, apiGroupList, apiResourceList, apiVersions, wantsAggregated } from './discovery.js';
import type { Faults } from './faults.js';
import { ObjectApi, type PatchKind, type Target } from './objects.js';
import { openApiV3Document, openApiV3Index } from './openapi.js';
import { decodeKubeProtobuf } from './protobuf.js';
import type { RequestEntry, RequestInfo, RequestLog } from './requests.js';
import type { ResourceRegistry } from './resources.js';
import { ApiError, badRequest, failure, forbidden, internalError, methodNotAllowed, pathNotFound, unsupportedMediaType } from './status.js';
import type { Store } from './store.js';
import { serveWatch } from './watch.js';

/** What an authorizer sees; return false to answer 403 Forbidden. */
export interface AuthorizationRequest extends RequestInfo {
  /** The bearer token of the request, which the emulator treats as the user name (`system:anonymous` without one). */
  user: string;
}

export interface ServerContext {
  registry: ResourceRegistry;
  store: Store;
  objects: ObjectApi;
  faults: Faults;
  requests: RequestLog;
  authorize?: (request: AuthorizationRequest) => boolean;
  /** Ends every open watch when the server stops. */
  watches: Set<() => void>;
  /** Host:port clients reach the server at (for /api's serverAddressByClientCIDRs). */
  address: () => string;
}

export const serverVersion = {
  major: '1',
  minor: '35',
  emulationMajor: '1',
  emulationMinor: '35',
  minCompatibilityMajor: '1',
  minCompatibilityMinor: '34',
  gitVersion: 'v1.35.0',
  gitCommit: '66452049f3d692768c39c797b21b793dce80314e',
  gitTreeState: 'clean',
  buildDate: '2025-12-17T12:32:06Z',
  goVersion: 'go1.25.5',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/** The real API server's request body limit (3 MiB). */
const maxBodyBytes = 3 * 1024 * 1024;

const patchKinds: Record<string, PatchKind> = {
  'application/merge-patch+json': 'merge',
  'application/json-patch+json': 'json',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0].trim().toLowerCase();
}

/** Reads the whole body; past the limit it keeps draining (so the 413 can be delivered) but stops collecting. */
function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBodyBytes) chunks.push(chunk);
    });
    request.on('end', () => {
      if (size > maxBodyBytes) {
        reject(new ApiError(failure({ code: 413, message: `Request entity too large: limit is ${maxBodyBytes}`, reason: 'RequestEntityTooLarge', details: {} })));
      } else resolve(Buffer.concat(chunks));
    });
    request.on('error', reject);
  });
}

function sendJson(response: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}, contentType = 'application/json'): void {
  if (response.headersSent || response.destroyed) return;
  const text = JSON.stringify(body);
  response.writeHead(code, { 'Content-Type': contentType, 'Cache-Control': 'no-cache, private', ...headers, 'Content-Length': String(Buffer.byteLength(text)) });
  response.end(text);
}

function sendError(response: ServerResponse, error: unknown): number {
  const apiError = error instanceof ApiError ? error : internalError(error instanceof Error ? error.message : String(error));
  sendJson(response, apiError.code, apiError.status, apiError.headers);
  return apiError.code;
}

/** Decodes a create/update body by its Content-Type. */
function decodeObject(body: Buffer, contentType: string): unknown {
  if (contentType === 'application/vnd.kubernetes.protobuf') {
    try {
      return decodeKubeProtobuf(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
    } catch (error) {
      throw new ApiError(failure({ code: 415, message: `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf, application/cbor (${(error as Error).message})`, reason: 'UnsupportedMediaType', details: {} }));
    }
  }
  const text = body.toString('utf8');
  if (contentType === 'application/yaml') {
    try {
      return parseYaml(text);
    } catch (error) {
      throw badRequest(`error converting YAML to JSON: ${(error as Error).message}`);
    }
  }
  if (contentType === '' || contentType === 'application/json' || contentType === '*/*') {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw badRequest(`couldn't get version/kind; json parse error: ${(error as Error).message}`);
    }
  }
  throw unsupportedMediaType(contentType);
}

function decodePatch(body: Buffer, kind: PatchKind): unknown {
  const text = body.toString('utf8');
  try {
    return kind === 'apply' ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw badRequest(kind === 'apply' ? `error decoding YAML: ${(error as Error).message}` : `error decoding patch: ${(error as Error).message}`);
  }
}

interface Route {
  info: RequestInfo;
  target: Target;
}

/** Maps `/api/v1/...` and `/apis/<group>/<version>/...` to a resource target, or throws 404/405. */
function route(context: ServerContext, method: string, segments: string[], query: URLSearchParams): Route {
  let group: string;
  let version: string;
  let rest: string[];
  if (segments[0] === 'api') {
    group = '';
    version = segments[1];
    rest = segments.slice(2);
  } else {
    group = segments[1];
    version = segments[2];
    rest = segments.slice(3);
  }
  let namespace: string | undefined;
  let resource: string;
  let name: string | undefined;
  let subresource: string | undefined;
  const namespaceSubresource = rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize');
  if (rest[0] === 'namespaces' && rest.length >= 3 && !namespaceSubresource) {
    [, namespace, resource, name, subresource] = rest;
    if (rest.length > 5) throw pathNotFound();
  } else {
    [resource, name, subresource] = rest;
    if (rest.length > 3) throw pathNotFound();
  }
  const type = context.registry.find(group, version, resource);
  if (!type) throw pathNotFound();
  if (namespace !== undefined && !type.namespaced) throw pathNotFound();
  if (subresource !== undefined && !(subresource === 'status' && type.status)) throw pathNotFound();
  if (name === '') name = undefined;

  let verb: string;
  switch (method) {
    case 'GET': {
      const watch = query.get('watch');
      verb = name ? 'get' : watch === '1' || watch === 'true' ? 'watch' : 'list';
      break;
    }
    case 'POST':
      if (name) throw methodNotAllowed();
      verb = 'create';
      break;
    case 'PUT':
      if (!name) throw methodNotAllowed();
      verb = 'update';
      break;
    case 'PATCH':
      if (!name) throw methodNotAllowed();
      verb = 'patch';
      break;
    case 'DELETE':
      verb = name ? 'delete' : 'deletecollection';
      break;
    default:
      throw methodNotAllowed();
  }
  if (subresource !== undefined ? !['get', 'update', 'patch'].includes(verb) : !type.verbs.includes(verb)) throw methodNotAllowed();
  // Namespaced objects are addressed inside their namespace; the bare path only lists and watches.
  if (type.namespaced && namespace === undefined && verb !== 'list' && verb !== 'watch') {
    if (name) throw pathNotFound();
    throw methodNotAllowed();
  }
  return {
    info: { verb, group, resource, subresource, namespace, name },
    target: { type, version, namespace, name, subresource: subresource as 'status' | undefined },
  };
}

function userOf(request: IncomingMessage): string {
  const header = request.headers.authorization ?? '';
  const m = /^Bearer\s+(.+)$/i.exec(header);
  return m ? m[1].trim() : 'system:anonymous';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function parseDryRun(query: URLSearchParams): boolean {
  const values = query.getAll('dryRun');
  for (const v of values) if (v !== 'All') throw badRequest(`dryRun: Unsupported value: "${v}": supported values: "All"`);
  return values.length > 0;
}

function selectorsOf(query: URLSearchParams): { labelSelector?: string; fieldSelector?: string } {
  return { labelSelector: query.get('labelSelector') ?? undefined, fieldSelector: query.get('fieldSelector') ?? undefined };
}

function optionalInt(query: URLSearchParams, key: string): number | undefined {
  const value = query.get(key);
  if (value === null || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw badRequest(`invalid ${key}: ${value}`);
  return n;
}

/** The emulator's own control endpoints, for tests that drive `npm run cluster` from another process. */
async function emulatorEndpoint(context: ServerContext, request: IncomingMessage, response: ServerResponse, path: string): Promise<void> {
  const method = request.method ?? 'GET';
  if (path === '/_emulator/faults') {
    if (method === 'GET') return sendJson(response, 200, { faults: context.faults.list() });
    if (method === 'DELETE') {
      context.faults.clear();
      return sendJson(response, 200, { faults: [] });
    }
    if (method === 'POST') {
      const body = JSON.parse((await readBody(request)).toString('utf8') || '{}');
      const { type = 'inject', ...options } = body as { type?: string } & Record<string, any>;
      if (type === 'inject') context.faults.inject(options as any);
      else if (type === 'delay') context.faults.delay(options as any);
      else if (type === 'conflictNext') context.faults.conflictNext(options as any);
      else return sendJson(response, 400, failure({ code: 400, message: `unknown fault type "${type}" (inject, delay, conflictNext)` }));
      return sendJson(response, 201, { faults: context.faults.list() });
    }
  }
  if (path === '/_emulator/requests') {
    if (method === 'GET') return sendJson(response, 200, { entries: context.requests.entries, counters: context.requests.counters() });
    if (method === 'DELETE') {
      context.requests.reset();
      return sendJson(response, 200, { entries: [], counters: {} });
    }
  }
  sendError(response, pathNotFound());
}

/** Answers discovery, version, health and OpenAPI URLs; returns false when the path is none of them. */
function nonResource(context: ServerContext, request: IncomingMessage, response: ServerResponse, segments: string[]): boolean {
  const path = `/${segments.join('/')}`;
  const accept = request.headers.accept;
  const { registry } = context;
  if (path === '/version') return sendJson(response, 200, serverVersion), true;
  if (['/healthz', '/readyz', '/livez'].includes(path) || /^\/(healthz|readyz|livez)\//.test(path)) {
    response.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
    response.end('ok');
    return true;
  }
  if (path === '/api') {
    if (wantsAggregated(accept)) sendJson(response, 200, aggregatedDiscovery(registry, true), { Vary: 'Accept' }, aggregatedContentType);
    else sendJson(response, 200, apiVersions(context.address()), { Vary: 'Accept' });
    return true;
  }
  if (path === '/apis') {
    if (wantsAggregated(accept)) sendJson(response, 200, aggregatedDiscovery(registry, false), { Vary: 'Accept' }, aggregatedContentType);
    else sendJson(response, 200, apiGroupList(registry), { Vary: 'Accept' });
    return true;
  }
  if (segments[0] === 'api' && segments.length === 2) {
    const list = apiResourceList(registry, '', segments[1]);
    if (!list) throw pathNotFound();
    return sendJson(response, 200, list), true;
  }
  if (segments[0] === 'apis' && segments.length === 2) {
    const group = apiGroup(registry, segments[1]);
    if (!group) throw pathNotFound();
    return sendJson(response, 200, group), true;
  }
  if (segments[0] === 'apis' && segments.length === 3) {
    const list = apiResourceList(registry, segments[1], segments[2]);
    if (!list) throw pathNotFound();
    return sendJson(response, 200, list), true;
  }
  if (path === '/openapi/v3') return sendJson(response, 200, openApiV3Index(registry, serverVersion.gitVersion)), true;
  if (segments[0] === 'openapi' && segments[1] === 'v3') {
    const doc = openApiV3Document(registry, segments.slice(2).join('/'), serverVersion.gitVersion);
    if (!doc) throw pathNotFound();
    return sendJson(response, 200, doc, { 'Cache-Control': 'public, immutable' }), true;
  }
  return false;
}

export function createRequestHandler(context: ServerContext): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    void handle(context, request, response).catch((error) => sendError(response, error));
  };
}

async function handle(context: ServerContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const started = Date.now();
  const url = new URL(request.url ?? '/', 'http://emulator');
  const path = url.pathname.replace(/\/+$/, '') || '/';
  if (path.startsWith('/_emulator/')) return emulatorEndpoint(context, request, response, path);

  const method = request.method ?? 'GET';
  const segments = path.split('/').filter((s) => s !== '').map(decodeURIComponent);
  const query = url.searchParams;
  const contentType = request.headers['content-type'];
  const entry: RequestEntry = {
    verb: method.toLowerCase(),
    method,
    path,
    query: url.search.replace(/^\?/, ''),
    group: '',
    version: '',
    resource: '',
    status: 0,
    ms: 0,
    at: started,
    ...(contentType ? { contentType } : {}),
    ...(request.headers['user-agent'] ? { userAgent: request.headers['user-agent'] } : {}),
  };
  let logged = false;
  const log = (status: number) => {
    if (logged) return;
    logged = true;
    entry.status = status;
    entry.ms = Date.now() - started;
    context.requests.record(entry);
  };

  try {
    const isResource = (segments[0] === 'api' && segments.length > 2) || (segments[0] === 'apis' && segments.length > 3);
    if (!isResource) {
      if (!nonResource(context, request, response, segments)) throw pathNotFound();
      log(response.statusCode);
      return;
    }
    const { info, target } = route(context, method, segments, query);
    Object.assign(entry, { verb: info.verb, group: info.group, version: target.version, resource: info.resource });
    for (const key of ['subresource', 'namespace', 'name'] as const) if (info[key] !== undefined) entry[key] = info[key];
    const fieldManager = query.get('fieldManager') ?? undefined;
    if (fieldManager) entry.fieldManager = fieldManager;

    const user = userOf(request);
    if (context.authorize && !context.authorize({ ...info, user })) {
      throw forbidden({ user, ...info });
    }

    const body = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method) ? await readBody(request) : Buffer.alloc(0);
    const decision = context.faults.decide(info);
    if (decision.delayMs > 0) await sleep(decision.delayMs);
    if (decision.error) throw decision.error;

    const dryRun = parseDryRun(query);
    if (dryRun) entry.dryRun = true;
    const write = { dryRun, fieldManager };
    const { objects } = context;
    const type = mediaType(contentType);
    let result: { code: number; body: unknown };
    switch (info.verb) {
      case 'get':
        result = { code: 200, body: objects.get(target) };
        break;
      case 'list':
        result = {
          code: 200,
          body: objects.list(target, {
            ...selectorsOf(query),
            limit: optionalInt(query, 'limit'),
            continue: query.get('continue') ?? undefined,
          }),
        };
        break;
      case 'watch': {
        const end = serveWatch({
          store: context.store,
          target,
          response,
          watch: {
            ...selectorsOf(query),
            resourceVersion: query.get('resourceVersion') ?? undefined,
            timeoutSeconds: optionalInt(query, 'timeoutSeconds'),
            allowWatchBookmarks: query.get('allowWatchBookmarks') === 'true',
            sendInitialEvents: query.get('sendInitialEvents') === 'true',
          },
          onEnd: () => context.watches.delete(end),
        });
        context.watches.add(end);
        log(200);
        return;
      }
      case 'create':
        result = objects.create(target, decodeObject(body, type), write);
        break;
      case 'update':
        result = objects.update(target, decodeObject(body, type), write);
        break;
      case 'patch': {
        const kind = patchKinds[type];
        if (!kind || (kind === 'strategic' && target.type.custom)) {
          const accepted = Object.keys(patchKinds).filter((k) => !(target.type.custom && patchKinds[k] === 'strategic'));
          throw new ApiError(failure({ code: 415, message: `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`, reason: 'UnsupportedMediaType', details: {} }));
        }
        entry.patchType = kind;
        const force = query.get('force');
        if (force !== null && kind !== 'apply') throw badRequest('force: Forbidden: may not be specified for non-apply patch');
        result = objects.patch(target, kind, decodePatch(body, kind), { ...write, force: force === 'true' });
        break;
      }
      case 'delete':
      case 'deletecollection': {
        // DeleteOptions may come in the body (JSON or protobuf) or in the query.
        const options = (body.length ? decodeObject(body, type) : {}) as Record<string, any>;
        const propagationPolicy = query.get('propagationPolicy') ?? options?.propagationPolicy ?? (options?.orphanDependents === true ? 'Orphan' : undefined);
        const deleteWrite = { ...write, dryRun: write.dryRun || (Array.isArray(options?.dryRun) && options.dryRun.includes('All')) };
        if (deleteWrite.dryRun) entry.dryRun = true;
        result =
          info.verb === 'delete'
            ? objects.delete(target, { propagationPolicy, preconditions: options?.preconditions }, deleteWrite)
            : objects.deleteCollection(target, selectorsOf(query), { propagationPolicy }, deleteWrite);
        break;
      }
      default:
        throw methodNotAllowed();
    }
    sendJson(response, result.code, result.body);
    log(result.code);
  } catch (error) {
    log(sendError(response, error));
  }
}
