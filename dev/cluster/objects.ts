/**
 * The generic REST semantics of the API server on top of the store: create, get, list, update,
 * patch (merge, JSON, strategic, server-side apply), delete and deletecollection, for the main
 * resource and its `/status` subresource, with optimistic concurrency, dry runs, generation
 * tracking, finalizers, namespace and owner-reference cascades, and CRDs that add types.
 * Both the HTTP layer and the test-facing store use this, so objects written either way behave alike.
 */
import { randomUUID } from 'node:crypto';
import { applyPatch } from './patch.js';
import { serverSideApply } from './apply.js';
import type { Controllers } from './controllers.js';
import { apiVersionOf, splitApiVersion, type ResourceRegistry, type ResourceType } from './resources.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { alreadyExists, ApiError, badRequest, conflict, failure, methodNotAllowed, notFound, success } from './status.js';
import type { KubeObject, Store } from './store.js';
import { validateObject, validateUpdate } from './validation.js';

/** Which object (or collection) a request addresses. */
export interface Target {
  type: ResourceType;
  /** Version the client speaks; answers carry `apiVersion` for it. */
  version: string;
  namespace?: string;
  name?: string;
  subresource?: 'status';
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export type PatchKind = 'merge' | 'json' | 'strategic' | 'apply';

export interface DeleteOptions {
  propagationPolicy?: string;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface WriteResult {
  /** HTTP status the real server answers with (201 on create, 202 when deletion waits on finalizers). */
  code: number;
  body: Record<string, unknown>;
}

const generateNameAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

function randomSuffix(): string {
  let out = '';
  for (let i = 0; i < 5; i++) out += generateNameAlphabet[Math.floor(Math.random() * generateNameAlphabet.length)];
  return out;
}

function timestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const metadataOrder = [
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields',
];

/** A copy for clients: `kind`, `apiVersion` for the requested version, metadata in the server's order. */
export function present(type: ResourceType, version: string, object: KubeObject): KubeObject {
  const copy = structuredClone(object);
  const { kind: _kind, apiVersion: _apiVersion, metadata, ...rest } = copy;
  const orderedMeta: Record<string, unknown> = {};
  for (const key of metadataOrder) if (metadata[key] !== undefined) orderedMeta[key] = metadata[key];
  for (const key of Object.keys(metadata)) if (!(key in orderedMeta) && metadata[key] !== undefined) orderedMeta[key] = metadata[key];
  return { kind: type.kind, apiVersion: apiVersionOf(type.group, version), metadata: orderedMeta, ...rest };
}

function sameContent(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject) => {
    const { metadata, ...rest } = o;
    const { resourceVersion: _rv, ...meta } = metadata;
    return JSON.stringify(sortKeys({ ...rest, metadata: meta }));
  };
  return strip(a) === strip(b);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value as object).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/** Everything outside metadata and status: a change here bumps `metadata.generation`. */
function specOf(o: KubeObject): string {
  const { metadata: _m, status: _s, kind: _k, apiVersion: _a, ...rest } = o;
  return JSON.stringify(sortKeys(rest));
}

function isBase64(value: string): boolean {
  return /^[A-Za-z0-9+/]*={0,2}$/.test(value) && value.length % 4 === 0;
}

/** Rejects shapes that the real server cannot even decode (400, "cannot be handled as a ..."). */
function checkDecodable(type: ResourceType, version: string, object: Record<string, any>): void {
  const fail = (message: string) => {
    throw badRequest(`${type.kind} in version "${version}" cannot be handled as a ${type.kind}: ${message}`);
  };
  const stringMaps: [string, unknown][] = [
    ['ObjectMeta.metadata.labels', object.metadata?.labels],
    ['ObjectMeta.metadata.annotations', object.metadata?.annotations],
  ];
  if (type.group === '' && type.resource === 'configmaps') stringMaps.push([`${type.kind}.data`, object.data]);
  if (type.group === '' && type.resource === 'secrets') stringMaps.push([`${type.kind}.stringData`, object.stringData], [`${type.kind}.data`, object.data]);
  for (const [field, map] of stringMaps) {
    if (map === undefined || map === null) continue;
    if (typeof map !== 'object' || Array.isArray(map)) fail(`json: cannot unmarshal ${Array.isArray(map) ? 'array' : typeof map} into Go struct field ${field} of type map[string]string`);
    for (const value of Object.values(map as object)) {
      if (value !== null && typeof value !== 'string') fail(`json: cannot unmarshal ${typeof value} into Go struct field ${field} of type string`);
    }
  }
  if (type.group === '' && type.resource === 'secrets' && object.data) {
    for (const value of Object.values(object.data as Record<string, string>)) {
      if (value !== null && !isBase64(value)) fail('illegal base64 data at input byte 0');
    }
  }
}

export class ObjectApi {
  constructor(
    private readonly store: Store,
    private readonly registry: ResourceRegistry,
    private readonly controllers: Controllers,
  ) {}

  get(target: Target): KubeObject {
    const current = this.current(target);
    return present(target.type, target.version, current);
  }

  list(target: Target, options: ListOptions = {}): Record<string, unknown> {
    const { type, version } = target;
    const labels = parseLabelSelector(options.labelSelector);
    const fields = parseFieldSelector(options.fieldSelector);
    let items = this.store.list(type, target.namespace).filter((o) => labels(o.metadata.labels ?? {}) && fields(o));
    const metadata: Record<string, unknown> = { resourceVersion: String(this.store.resourceVersion) };
    if (options.continue) {
      let start: string;
      try {
        start = JSON.parse(Buffer.from(options.continue, 'base64url').toString('utf8')).start;
      } catch {
        throw badRequest('continue key is not valid: illegal base64 data at input byte 0');
      }
      items = items.filter((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}` > start);
    }
    if (options.limit && options.limit > 0 && items.length > options.limit) {
      const remaining = items.length - options.limit;
      items = items.slice(0, options.limit);
      const last = items[items.length - 1];
      metadata.continue = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: this.store.resourceVersion, start: `${last.metadata.namespace ?? ''}/${last.metadata.name}` })).toString('base64url');
      metadata.remainingItemCount = remaining;
    }
    return {
      kind: `${type.kind}List`,
      apiVersion: apiVersionOf(type.group, version),
      metadata,
      items: items.map((o) => present(type, version, o)),
    };
  }

  create(target: Target, body: unknown, options: WriteOptions = {}): WriteResult {
    const { type, version } = target;
    if (target.subresource) throw methodNotAllowed();
    const object = this.normalize(target, body);
    const meta = object.metadata;
    if (meta.resourceVersion) throw badRequest('resourceVersion should not be set on objects to be created');
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomSuffix()}`;
    if (type.namespaced) this.requireNamespace(meta.namespace!);
    if (meta.name && this.store.get(type, meta.namespace, meta.name)) throw alreadyExists({ group: type.group, resource: type.resource, name: meta.name });

    for (const field of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink', 'generation']) delete meta[field];
    meta.uid = randomUUID();
    meta.creationTimestamp = timestamp();
    if (type.generation) meta.generation = 1;
    if (type.status) delete object.status;
    this.transform(type, object);
    this.controllers.applyDefaults(type, object);
    validateObject(type, object);
    this.controllers.reconcile(type, object, undefined);
    if (options.dryRun) return { code: 201, body: present(type, version, object) };
    const stored = this.store.put(type, object);
    this.afterWrite(type, stored);
    return { code: 201, body: present(type, version, stored) };
  }

  update(target: Target, body: unknown, options: WriteOptions = {}): WriteResult {
    const { type, version } = target;
    const current = this.current(target);
    const object = this.normalize(target, body);
    const wantedVersion = object.metadata.resourceVersion;
    if (wantedVersion && wantedVersion !== current.metadata.resourceVersion) {
      throw conflict({ group: type.group, resource: type.resource, name: current.metadata.name! });
    }

    let next: KubeObject;
    if (target.subresource === 'status') {
      next = structuredClone(current);
      if (object.status === undefined) delete next.status;
      else next.status = object.status;
    } else {
      next = object;
      const meta = next.metadata;
      for (const field of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds']) {
        if (current.metadata[field] === undefined) delete meta[field];
        else meta[field] = current.metadata[field];
      }
      delete meta.managedFields;
      delete meta.selfLink;
      if (type.status) {
        if (current.status === undefined) delete next.status;
        else next.status = structuredClone(current.status);
      }
      this.transform(type, next);
      this.controllers.applyDefaults(type, next);
      validateObject(type, next);
      validateUpdate(type, next, current);
      if (type.generation) {
        const generation = current.metadata.generation ?? 1;
        meta.generation = specOf(next) === specOf(current) ? generation : generation + 1;
      } else delete meta.generation;
      this.controllers.reconcile(type, next, current);
    }
    next.metadata.resourceVersion = current.metadata.resourceVersion;

    if (next.metadata.deletionTimestamp && !(next.metadata.finalizers?.length)) {
      if (options.dryRun) return { code: 200, body: present(type, version, next) };
      const gone = this.remove(type, next);
      return { code: 200, body: present(type, version, gone) };
    }
    if (sameContent(next, current)) return { code: 200, body: present(type, version, current) };
    if (options.dryRun) return { code: 200, body: present(type, version, next) };
    const stored = this.store.put(type, next);
    this.afterWrite(type, stored);
    return { code: 200, body: present(type, version, stored) };
  }

  patch(target: Target, kind: PatchKind, patch: unknown, options: WriteOptions & { force?: boolean } = {}): WriteResult {
    const { type, version } = target;
    const existing = this.store.get(type, target.namespace, target.name!);
    const manager = options.fieldManager ?? '';
    if (kind === 'apply') {
      if (!manager) throw new ApiError(failure({ code: 422, message: 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch', reason: 'Invalid', details: { group: 'meta.k8s.io', kind: 'PatchOptions', causes: [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }] } }));
      if (!patch || typeof patch !== 'object' || Array.isArray(patch)) throw badRequest('error decoding YAML: the apply configuration must be an object');
      const applied = patch as Record<string, any>;
      if (!applied.apiVersion || !applied.kind) {
        throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(applied)}'`);
      }
      const managerKey = target.subresource ? `${manager}/${target.subresource}` : manager;
      if (!existing) {
        if (target.subresource) throw notFound({ group: type.group, resource: type.resource, name: target.name! });
        const merged = serverSideApply({ applied, fieldManager: manager, force: Boolean(options.force) }) as KubeObject;
        merged.metadata = { ...(merged.metadata ?? {}) };
        delete merged.metadata.resourceVersion;
        const result = this.create(target, merged, options);
        if (!options.dryRun) this.store.setLastApplied(type, target.namespace, target.name!, managerKey, applied as KubeObject);
        return { code: 201, body: result.body };
      }
      const merged = serverSideApply({
        current: present(type, version, existing),
        applied,
        fieldManager: manager,
        force: Boolean(options.force),
        previouslyApplied: this.store.lastApplied(type, target.namespace, target.name!, managerKey),
      });
      const result = this.update(target, merged, options);
      if (!options.dryRun) this.store.setLastApplied(type, target.namespace, target.name!, managerKey, applied as KubeObject);
      return result;
    }
    if (!existing) throw notFound({ group: type.group, resource: type.resource, name: target.name! });
    let patched: Record<string, unknown>;
    try {
      patched = applyPatch({ current: present(type, version, existing), patch, type: kind });
    } catch (error) {
      // A failed `test` operation and a patch that does not apply are both 422 Invalid.
      throw new ApiError(failure({ code: 422, message: (error as Error).message, reason: 'Invalid', details: {} }));
    }
    return this.update(target, patched, options);
  }

  delete(target: Target, options: DeleteOptions = {}, write: WriteOptions = {}): WriteResult {
    const { type, version } = target;
    const current = this.current(target);
    const name = current.metadata.name!;
    const pre = options.preconditions ?? {};
    if (pre.uid && pre.uid !== current.metadata.uid) {
      throw conflict({ group: type.group, resource: type.resource, name, message: `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}` });
    }
    if (pre.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
      throw conflict({ group: type.group, resource: type.resource, name, message: `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}` });
    }
    const returnsObject = type.custom || (type.group === '' && ['pods', 'services', 'namespaces'].includes(type.resource));
    const answer = (object: KubeObject, code = 200): WriteResult => ({
      code,
      body: returnsObject ? present(type, version, object) : success({ group: type.group, resource: type.resource, name, uid: object.metadata.uid }),
    });

    if (current.metadata.finalizers?.length) {
      if (current.metadata.deletionTimestamp) return { code: 202, body: present(type, version, current) };
      const marked = structuredClone(current);
      marked.metadata.deletionTimestamp = timestamp();
      marked.metadata.deletionGracePeriodSeconds = 0;
      if (write.dryRun) return { code: 202, body: present(type, version, marked) };
      return { code: 202, body: present(type, version, this.store.put(type, marked)) };
    }
    if (write.dryRun) return answer(current);
    const orphan = options.propagationPolicy === 'Orphan';
    if (type.group === '' && type.resource === 'namespaces') {
      const terminating = structuredClone(current);
      terminating.metadata.deletionTimestamp = timestamp();
      terminating.status = { ...terminating.status, phase: 'Terminating' };
      for (const t of this.registry.all()) {
        if (!t.namespaced) continue;
        for (const o of this.store.list(t, name)) this.remove(t, o, false);
      }
      this.remove(type, current, orphan);
      return { code: 200, body: present(type, version, terminating) };
    }
    const gone = this.remove(type, current, orphan);
    return answer(gone);
  }

  deleteCollection(target: Target, list: ListOptions, options: DeleteOptions = {}, write: WriteOptions = {}): WriteResult {
    const { type, version } = target;
    const labels = parseLabelSelector(list.labelSelector);
    const fields = parseFieldSelector(list.fieldSelector);
    const items: KubeObject[] = [];
    for (const object of this.store.list(type, target.namespace)) {
      if (!labels(object.metadata.labels ?? {}) || !fields(object)) continue;
      const result = this.delete({ ...target, namespace: object.metadata.namespace, name: object.metadata.name }, options, write);
      items.push(result.body.kind === 'Status' ? present(type, version, object) : (result.body as KubeObject));
    }
    return {
      code: 200,
      body: { kind: `${type.kind}List`, apiVersion: apiVersionOf(type.group, version), metadata: { resourceVersion: String(this.store.resourceVersion) }, items },
    };
  }

  private current(target: Target): KubeObject {
    const { type } = target;
    const found = this.store.get(type, target.namespace, target.name!);
    if (!found) throw notFound({ group: type.group, resource: type.resource, name: target.name! });
    return found;
  }

  private requireNamespace(namespace: string): void {
    const namespaces = this.registry.find('', 'v1', 'namespaces')!;
    if (!this.store.get(namespaces, undefined, namespace)) throw notFound({ group: '', resource: 'namespaces', name: namespace });
  }

  /** Checks the body against the URL and returns a private copy with namespace and name settled. */
  private normalize(target: Target, body: unknown): KubeObject {
    const { type, version } = target;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest(`${type.kind} in version "${version}" cannot be handled as a ${type.kind}: the request body must be a JSON object`);
    const object = structuredClone(body) as KubeObject;
    if (object.apiVersion !== undefined || object.kind !== undefined) {
      const { group, version: bodyVersion } = splitApiVersion(String(object.apiVersion ?? ''));
      if (object.kind !== undefined && object.kind !== type.kind) {
        throw badRequest(`${type.kind} in version "${version}" cannot be handled as a ${type.kind}: the object provided is unrecognized (must be of type ${type.kind}): kind ${object.kind}`);
      }
      if (object.apiVersion !== undefined && (group !== type.group || !type.versions.includes(bodyVersion))) {
        throw badRequest(`the API version in the data (${object.apiVersion}) does not match the expected API version (${apiVersionOf(type.group, version)})`);
      }
    }
    if (object.metadata === undefined || object.metadata === null) object.metadata = {};
    if (typeof object.metadata !== 'object' || Array.isArray(object.metadata)) throw badRequest(`${type.kind} in version "${version}" cannot be handled as a ${type.kind}: metadata must be an object`);
    checkDecodable(type, version, object);
    delete object.kind;
    delete object.apiVersion;
    const meta = object.metadata;
    if (type.namespaced) {
      if (meta.namespace && target.namespace && meta.namespace !== target.namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = target.namespace ?? meta.namespace;
    } else delete meta.namespace;
    if (target.name !== undefined) {
      if (meta.name && meta.name !== target.name) throw badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${target.name})`);
      meta.name = target.name;
    }
    if (meta.labels === null) delete meta.labels;
    if (meta.annotations === null) delete meta.annotations;
    return object;
  }

  /** Write-time conversions the real types do: a Secret's stringData lands in data. */
  private transform(type: ResourceType, object: KubeObject): void {
    if (type.group === '' && type.resource === 'secrets' && object.stringData) {
      const data: Record<string, string> = { ...(object.data ?? {}) };
      for (const [key, value] of Object.entries(object.stringData as Record<string, string>)) data[key] = Buffer.from(String(value), 'utf8').toString('base64');
      object.data = data;
      delete object.stringData;
    }
  }

  /** Removes an object and, unless orphaning, the objects it owns (the garbage collector's job). */
  private remove(type: ResourceType, object: KubeObject, orphan = false): KubeObject {
    const gone = this.store.remove(type, object.metadata.namespace, object.metadata.name!) ?? object;
    if (type.group === 'apiextensions.k8s.io' && type.resource === 'customresourcedefinitions') {
      const defined = this.registry.unregisterCrd(object);
      if (defined) this.store.dropType(defined);
    }
    if (!orphan && object.metadata.uid) this.collectDependents(object.metadata.uid);
    this.controllers.changed(type);
    return gone;
  }

  private collectDependents(uid: string): void {
    for (const t of this.registry.all()) {
      for (const o of this.store.list(t)) {
        const owners = (o.metadata.ownerReferences ?? []) as { uid?: string }[];
        if (owners.some((ref) => ref.uid === uid) && this.store.get(t, o.metadata.namespace, o.metadata.name!)) this.remove(t, o);
      }
    }
  }

  private afterWrite(type: ResourceType, stored: KubeObject): void {
    if (type.group === 'apiextensions.k8s.io' && type.resource === 'customresourcedefinitions') this.registry.registerCrd(stored);
    this.controllers.changed(type);
  }
}
