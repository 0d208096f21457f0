/**
 * In-memory object storage with one global, increasing resourceVersion (like etcd's revision),
 * a bounded history of changes for watches, and the last applied configuration of every
 * server-side-apply field manager (kept outside the objects, as the real server keeps
 * managedFields' content out of the user's view here).
 */
import type { ResourceType } from './resources.js';

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: any;
}

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoredEvent {
  type: EventType;
  resourceVersion: number;
  typeKey: string;
  namespace: string;
  name: string;
  object: KubeObject;
  /** The object before a MODIFIED change, so label-filtered watches can turn it into ADDED/DELETED. */
  previous?: KubeObject;
}

export function typeKey(type: Pick<ResourceType, 'group' | 'resource'>): string {
  return `${type.group}/${type.resource}`;
}

function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

export class Store {
  private revision: number;
  private readonly tables = new Map<string, Map<string, KubeObject>>();
  private readonly history: StoredEvent[] = [];
  private readonly listeners = new Set<(event: StoredEvent) => void>();
  private readonly applied = new Map<string, Map<string, KubeObject>>();
  /** resourceVersion of the oldest change no longer in the history (0 while nothing was dropped). */
  private droppedUpTo = 0;

  constructor(private readonly historyLimit = 10_000, startRevision = 1000) {
    this.revision = startRevision;
  }

  get resourceVersion(): number {
    return this.revision;
  }

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.tables.get(typeKey(type))?.get(objectKey(type.namespaced ? namespace : undefined, name));
  }

  /** Objects of a type, in one namespace or all, sorted by namespace then name like the real server. */
  list(type: ResourceType, namespace?: string): KubeObject[] {
    const table = this.tables.get(typeKey(type));
    if (!table) return [];
    const keys = [...table.keys()].sort();
    const prefix = namespace !== undefined && type.namespaced ? `${namespace}/` : undefined;
    return keys.filter((k) => prefix === undefined || k.startsWith(prefix)).map((k) => table.get(k)!);
  }

  /** Stores an object (its resourceVersion is assigned here) and records the change. */
  put(type: ResourceType, object: KubeObject): KubeObject {
    const key = typeKey(type);
    let table = this.tables.get(key);
    if (!table) this.tables.set(key, (table = new Map()));
    const oKey = objectKey(object.metadata.namespace, object.metadata.name!);
    const previous = table.get(oKey);
    this.revision++;
    const stored = structuredClone(object);
    stored.metadata.resourceVersion = String(this.revision);
    table.set(oKey, stored);
    this.record({
      type: previous ? 'MODIFIED' : 'ADDED',
      resourceVersion: this.revision,
      typeKey: key,
      namespace: stored.metadata.namespace ?? '',
      name: stored.metadata.name!,
      object: stored,
      previous,
    });
    return stored;
  }

  /** Removes an object; the DELETED event carries it with a fresh resourceVersion, as etcd watches do. */
  remove(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const key = typeKey(type);
    const oKey = objectKey(type.namespaced ? namespace : undefined, name);
    const table = this.tables.get(key);
    const existing = table?.get(oKey);
    if (!table || !existing) return undefined;
    table.delete(oKey);
    this.applied.delete(`${key}/${oKey}`);
    this.revision++;
    const gone = structuredClone(existing);
    gone.metadata.resourceVersion = String(this.revision);
    this.record({ type: 'DELETED', resourceVersion: this.revision, typeKey: key, namespace: gone.metadata.namespace ?? '', name, object: gone });
    return gone;
  }

  /** Changes after `resourceVersion`, or `undefined` when some of them were already dropped from the history. */
  eventsSince(resourceVersion: number): StoredEvent[] | undefined {
    if (resourceVersion < this.droppedUpTo) return undefined;
    const first = this.history.findIndex((e) => e.resourceVersion > resourceVersion);
    return first < 0 ? [] : this.history.slice(first);
  }

  /** Oldest resourceVersion a watch can still start from. */
  get oldestWatchable(): number {
    return this.droppedUpTo;
  }

  subscribe(listener: (event: StoredEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  lastApplied(type: ResourceType, namespace: string | undefined, name: string, manager: string): KubeObject | undefined {
    return this.applied.get(`${typeKey(type)}/${objectKey(type.namespaced ? namespace : undefined, name)}`)?.get(manager);
  }

  setLastApplied(type: ResourceType, namespace: string | undefined, name: string, manager: string, applied: KubeObject): void {
    const key = `${typeKey(type)}/${objectKey(type.namespaced ? namespace : undefined, name)}`;
    let managers = this.applied.get(key);
    if (!managers) this.applied.set(key, (managers = new Map()));
    managers.set(manager, structuredClone(applied));
  }

  /** Drops every object of a type (used when its CustomResourceDefinition goes away). */
  dropType(type: ResourceType): void {
    for (const object of this.list(type)) this.remove(type, object.metadata.namespace, object.metadata.name!);
    this.tables.delete(typeKey(type));
  }

  private record(event: StoredEvent): void {
    this.history.push(event);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      this.droppedUpTo = dropped[dropped.length - 1].resourceVersion;
    }
    for (const listener of this.listeners) listener(event);
  }
}
