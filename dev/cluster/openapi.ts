/**
 * OpenAPI v3, only as much as helm 4 needs to install without `--disable-openapi-validation`.
 *
 * helm validates manifests through kubectl's validator: it first asks /openapi/v3 whether the
 * server supports the `fieldValidation` query parameter on each kind's PATCH operation. When it
 * does, helm leaves validation to the server (sends `fieldValidation=Strict`) and never fetches
 * schemas or /openapi/v2. So each group-version document lists, per resource, the PATCH operation
 * with its `x-kubernetes-group-version-kind` and a `fieldValidation` parameter, and no schemas.
 * /openapi/v2 answers 404 like a server that has disabled it; clients that need v2 fall back.
 * (The emulator accepts unknown fields instead of rejecting them under Strict.)
 */
import { createHash } from 'node:crypto';
import type { ResourceRegistry, ResourceType } from './resources.js';

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

function hash(value: unknown): string {
  return createHash('sha512').update(JSON.stringify(value)).digest('hex').slice(0, 128).toUpperCase();
}

const queryParameters = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'];

function patchOperation(t: ResourceType, version: string, subresource?: string): Record<string, unknown> {
  return {
    tags: [`${t.group || 'core'}_${version}`],
    description: `partially update the specified ${t.kind}${subresource ? ` ${subresource}` : ''}`,
    operationId: `patch${t.namespaced ? 'Namespaced' : ''}${t.kind}${subresource ? 'Status' : ''}`,
    parameters: queryParameters.map((name) => ({ name, in: 'query', schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true } })),
    requestBody: {
      content: Object.fromEntries(
        ['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'].map((c) => [c, { schema: { type: 'object' } }]),
      ),
      required: true,
    },
    responses: { '200': { description: 'OK' }, '201': { description: 'Created' }, '401': { description: 'Unauthorized' } },
    'x-kubernetes-action': 'patch',
    'x-kubernetes-group-version-kind': { group: t.group, version, kind: t.kind },
  };
}

function document(registry: ResourceRegistry, group: string, version: string, serverVersion: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const t of registry.typesIn(group, version)) {
    const base = `/${gvPath(group, version)}${t.namespaced ? '/namespaces/{namespace}' : ''}/${t.resource}/{name}`;
    const pathParameters = [
      { name: 'name', in: 'path', description: `name of the ${t.kind}`, required: true, schema: { type: 'string', uniqueItems: true } },
      ...(t.namespaced ? [{ name: 'namespace', in: 'path', description: 'object name and auth scope, such as for teams and projects', required: true, schema: { type: 'string', uniqueItems: true } }] : []),
    ];
    paths[base] = { patch: patchOperation(t, version), parameters: pathParameters };
    if (t.status) paths[`${base}/status`] = { patch: patchOperation(t, version, 'status'), parameters: pathParameters };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: serverVersion }, paths, components: { schemas: {} } };
}

/** The /openapi/v3 index: one entry per served group-version, addressed with a content hash. */
export function openApiV3Index(registry: ResourceRegistry, serverVersion: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const g of registry.groups()) {
    for (const v of g.versions) {
      const path = gvPath(g.name, v);
      paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hash(document(registry, g.name, v, serverVersion))}` };
    }
  }
  return { paths };
}

/** The document for `/openapi/v3/<api/v1 | apis/<group>/<version>>`, or undefined when not served. */
export function openApiV3Document(registry: ResourceRegistry, path: string, serverVersion: string): Record<string, unknown> | undefined {
  const m = /^(?:api\/(v[^/]+)|apis\/([^/]+)\/([^/]+))$/.exec(path);
  if (!m) return undefined;
  const group = m[1] ? '' : m[2];
  const version = m[1] ?? m[3];
  if (registry.typesIn(group, version).length === 0) return undefined;
  return document(registry, group, version, serverVersion);
}
