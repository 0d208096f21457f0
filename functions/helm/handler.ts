// helm releases, one route per operation (the part of the path after /function/helm):
//   POST /install (and POST / as the original API did)   POST /upgrade   POST /uninstall (alias /delete)
//   POST|GET /list   POST|GET /status   POST|GET /history   POST /rollback
// Bodies are validated against schema.json and policy before any helm process starts.
import { readFileSync } from 'node:fs';
import { FunctionError } from '#runtime/errors.js';
import {
  getReleaseHistory,
  getReleaseStatus,
  installRelease,
  listReleases,
  rollbackRelease,
  uninstallRelease,
  upgradeRelease,
  type HistoryRequest,
  type InstallRequest,
  type InstallResult,
  type ListRequest,
  type OperationContext,
  type RollbackRequest,
  type StatusRequest,
  type UninstallRequest,
  type UpgradeRequest,
} from '#runtime/helm/operations.js';
import { parseTimeout } from '#runtime/helm/args.js';
import { chartLocation } from '#runtime/helm/repo.js';
import { checkChartName, checkNamespace, checkRepoUrl } from '#runtime/policy.js';
import type { FunctionContext, FunctionHandler, FunctionRequest, FunctionResponse } from '#runtime/types.js';
import { compileValidator } from '#runtime/validate.js';

const schema = JSON.parse(readFileSync(new URL('./schema.json', import.meta.url), 'utf8')) as { $defs: object };
const validator = <T>(name: string) => compileValidator<T>({ $defs: schema.$defs, $ref: `#/$defs/${name}` });

type Aliases = { nameSpace?: string; timeout?: number | string; reuseValue?: boolean };
type Body<T> = Omit<T, 'timeout'> & Aliases;

const validate = {
  install: validator<Body<InstallRequest>>('install'),
  upgrade: validator<Body<UpgradeRequest>>('upgrade'),
  uninstall: validator<Body<UninstallRequest>>('uninstall'),
  list: validator<ListRequest>('list'),
  status: validator<Body<StatusRequest>>('status'),
  history: validator<Body<HistoryRequest>>('history'),
  rollback: validator<Body<RollbackRequest>>('rollback'),
};

function conflict(path: string, message: string): never {
  throw new FunctionError('INVALID_INPUT', 'The request body is invalid', [{ path, message }]);
}

// The original API's spellings (nameSpace, reuseValue) and helm-style durations become the one form
// the operations take.
function normalize<T extends object>(body: Body<T>): T {
  const { nameSpace, reuseValue, timeout, ...rest } = body as Body<T> & { namespace?: string; reuseValues?: boolean };
  const out: Record<string, unknown> = { ...rest };
  if (nameSpace !== undefined) {
    if (rest.namespace !== undefined && rest.namespace !== nameSpace) conflict('/nameSpace', 'differs from namespace');
    out.namespace = nameSpace;
  }
  if (reuseValue !== undefined) {
    if (rest.reuseValues !== undefined && rest.reuseValues !== reuseValue) conflict('/reuseValue', 'differs from reuseValues');
    out.reuseValues = reuseValue;
  }
  if (timeout !== undefined) out.timeout = parseTimeout(timeout);
  return out as T;
}

function checkReleasePolicy(body: { namespace?: string }, ctx: FunctionContext): void {
  checkNamespace(body.namespace ?? 'default', ctx.config.policy);
}

function checkChartPolicy(body: InstallRequest, ctx: FunctionContext): void {
  checkReleasePolicy(body, ctx);
  checkChartName(body.chartName, ctx.config.policy);
  checkRepoUrl(chartLocation(body).url, ctx.config.policy);
}

/** GET routes take their fields from the query string; numbers and booleans are read as such. */
function queryBody(query: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, raw] of query) {
    let value: unknown = raw;
    if (/^(max|offset|revision)$/.test(key) && /^\d{1,9}$/.test(raw)) value = Number(raw);
    else if (key === 'allNamespaces' && (raw === 'true' || raw === 'false')) value = raw === 'true';
    // defineProperty keeps a `__proto__` key an ordinary property, so the schema refuses it as unknown.
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function input(req: FunctionRequest, methods: string[]): unknown {
  if (!methods.includes(req.method)) throw new FunctionError('METHOD_NOT_ALLOWED', undefined, { allowed: methods });
  return req.method === 'GET' ? queryBody(req.query) : (req.body === undefined ? {} : req.body);
}

type Route = (req: FunctionRequest, ctx: FunctionContext, op: OperationContext) => Promise<FunctionResponse>;

/** install and upgrade: 201 when a release was created, else 200. */
function deployRoute<T extends InstallRequest>(
  check: (body: unknown) => Body<T>,
  deploy: (body: T, op: OperationContext) => Promise<InstallResult>,
): Route {
  return async (req, ctx, op) => {
    const body = normalize<T>(check(input(req, ['POST'])));
    checkChartPolicy(body, ctx);
    const result = await deploy(body, op);
    return { status: result.created ? 201 : 200, body: result };
  };
}

const install = deployRoute(validate.install, installRelease);

const routes: Record<string, Route> = {
  '/': install,
  '/install': install,
  '/upgrade': deployRoute(validate.upgrade, upgradeRelease),
  '/uninstall': async (req, ctx, op) => {
    const body = normalize<UninstallRequest>(validate.uninstall(input(req, ['POST', 'DELETE'])));
    checkReleasePolicy(body, ctx);
    return { status: 200, body: await uninstallRelease(body, op) };
  },
  '/list': async (req, ctx, op) => {
    const body = validate.list(input(req, ['GET', 'POST']));
    if (!body.allNamespaces) checkReleasePolicy(body, ctx);
    else if (ctx.config.policy.namespaces.length > 0) {
      throw new FunctionError('FORBIDDEN_BY_POLICY', 'Listing all namespaces is not allowed when namespaces are restricted', {
        rule: 'namespace',
        allowed: ctx.config.policy.namespaces,
      });
    }
    return { status: 200, body: await listReleases(body, op) };
  },
  '/status': async (req, ctx, op) => {
    const body = normalize<StatusRequest>(validate.status(input(req, ['GET', 'POST'])));
    checkReleasePolicy(body, ctx);
    return { status: 200, body: await getReleaseStatus(body, op) };
  },
  '/history': async (req, ctx, op) => {
    const body = normalize<HistoryRequest>(validate.history(input(req, ['GET', 'POST'])));
    checkReleasePolicy(body, ctx);
    return { status: 200, body: await getReleaseHistory(body, op) };
  },
  '/rollback': async (req, ctx, op) => {
    const body = normalize<RollbackRequest>(validate.rollback(input(req, ['POST'])));
    checkReleasePolicy(body, ctx);
    return { status: 200, body: await rollbackRelease(body, op) };
  },
};
routes['/delete'] = routes['/uninstall'];

export const handler: FunctionHandler = async (req, ctx) => {
  const path = req.path.length > 1 ? req.path.replace(/\/+$/, '') : '/';
  const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
  if (!route) throw new FunctionError('NOT_FOUND');
  return route(req, ctx, { config: ctx.config, signal: ctx.signal, log: ctx.log });
};

export default handler;
