// Ingress rules: an external TCP/UDP port of an ingress controller forwarded to a Service port.
//   POST /create (or /)  { serviceName, servicePort, namespace, protocol?, port?, lbip?, releaseName? }
//                        -> 201 new / 200 existing { ip, port, protocol, serviceName, servicePort, namespace, releaseName?, created, notice? }
//   POST /delete         { port | namespace+serviceName[+servicePort], protocol?, lbip? } -> 200 { deleted: [...] }
//   GET  /list           ?lbip= -> 200 { rules: [...] }
//   POST /repair         { dryRun? (default true) } -> 200 { dryRun, removed: [...], fixed: [...] }
import { readFileSync } from 'node:fs';
import { FunctionError } from '#runtime/errors.js';
import { sharedExposure, type DeleteRequest, type Protocol, type Rule } from '#runtime/exposure/index.js';
import { checkNamespace, checkPort, isNamespaceAllowed } from '#runtime/policy.js';
import type { FunctionHandler, FunctionRequest } from '#runtime/types.js';
import { compileValidator } from '#runtime/validate.js';

interface CreateInput {
  serviceName: string;
  servicePort: number;
  namespace: string;
  protocol: Protocol;
  port?: number;
  lbip?: string;
  releaseName?: string;
}

const schema = JSON.parse(readFileSync(new URL('./schema.json', import.meta.url), 'utf8')) as { $defs: object };
const compile = <T>(name: string) => compileValidator<T>({ $defs: schema.$defs, $ref: `#/$defs/${name}` });
const validateCreate = compile<CreateInput>('create');
const validateDelete = compile<DeleteRequest>('delete');
const validateList = compile<{ lbip?: string }>('list');
const validateRepair = compile<{ dryRun: boolean }>('repair');

const rule = ({ ip, port, protocol, serviceName, servicePort, namespace }: Rule) => ({ ip, port, protocol, serviceName, servicePort, namespace });

function only(req: FunctionRequest, method: 'GET' | 'POST'): void {
  if (req.method !== method) throw new FunctionError('METHOD_NOT_ALLOWED', `Use ${method} for ${req.path}`);
}

export const handler: FunctionHandler = async (req, ctx) => {
  const exposure = sharedExposure(ctx.config);
  switch (req.path.replace(/\/+$/, '') || '/') {
    case '/':
    case '/create': {
      only(req, 'POST');
      const input = validateCreate(req.body === undefined ? {} : req.body);
      checkNamespace(input.namespace, ctx.config.policy);
      // The port range is checked by the claim itself, before any Kubernetes call.
      const claimed = await exposure.claim(input);
      return {
        status: claimed.created ? 201 : 200,
        body: {
          ...rule(claimed),
          ...(input.releaseName !== undefined && { releaseName: input.releaseName }),
          created: claimed.created,
          ...(claimed.notice !== undefined && { notice: claimed.notice }),
        },
      };
    }
    case '/delete': {
      only(req, 'POST');
      const input = validateDelete(req.body === undefined ? {} : req.body);
      if (input.namespace !== undefined) checkNamespace(input.namespace, ctx.config.policy);
      if (input.port !== undefined) checkPort(input.port, ctx.config.portRange);
      // Deleting by port must not reach rules of namespaces the policy keeps this caller out of.
      const deleted = await exposure.remove({ ...input, namespaceAllowed: (ns) => isNamespaceAllowed(ns, ctx.config.policy) });
      return { status: 200, body: { deleted: deleted.map(rule) } };
    }
    case '/list': {
      only(req, 'GET');
      const input = validateList(Object.fromEntries(req.query));
      const rules = (await exposure.list(input)).filter((r) => isNamespaceAllowed(r.namespace, ctx.config.policy));
      return { status: 200, body: { rules: rules.map(rule) } };
    }
    case '/repair': {
      only(req, 'POST');
      const { dryRun } = validateRepair(req.body === undefined ? {} : req.body);
      const result = await exposure.repair({ dryRun });
      return {
        status: 200,
        body: {
          dryRun: result.dryRun,
          removed: result.removed.map((r) => ({ ...rule(r), reason: r.reason })),
          fixed: result.fixed,
        },
      };
    }
    default:
      throw new FunctionError('NOT_FOUND', `No route ${req.path}; use /create, /delete, /list or /repair`);
  }
};

export default handler;
