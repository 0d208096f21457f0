/**
 * The request log: one entry per request the emulator answered (emulator control endpoints
 * excluded), with counters keyed `"<verb> <resource>"` such as `"update configmaps"` or
 * `"patch deployments/status"`. Non-resource requests (discovery, /version, /openapi) are logged
 * with `resource: ''` and counted as `"<verb> <path>"`.
 */

/** What a request acts on, as authorization, fault injection and the log see it. */
export interface RequestInfo {
  /** get, list, watch, create, update, patch, delete, deletecollection; for non-resource URLs the lower-case HTTP method. */
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export interface RequestEntry extends RequestInfo {
  method: string;
  path: string;
  /** The raw query string without `?` (empty when none). */
  query: string;
  version: string;
  /** HTTP status answered (200 for a watch that streamed). */
  status: number;
  /** The request's Content-Type, if it had a body. */
  contentType?: string;
  /** Patch flavour for PATCH requests: merge, json, strategic, apply. */
  patchType?: string;
  fieldManager?: string;
  dryRun?: boolean;
  userAgent?: string;
  /** Time to the response headers (for watches: to the start of the stream). */
  ms: number;
  /** When the request arrived (epoch ms). */
  at: number;
}

export type RequestFilter = Partial<Pick<RequestEntry, 'verb' | 'group' | 'resource' | 'subresource' | 'namespace' | 'name' | 'status' | 'method' | 'patchType' | 'fieldManager'>>;

export class RequestLog {
  private log: RequestEntry[] = [];

  constructor(private readonly limit = 100_000) {}

  /** A copy of the entries, oldest first. */
  get entries(): RequestEntry[] {
    return [...this.log];
  }

  record(entry: RequestEntry): void {
    this.log.push(entry);
    if (this.log.length > this.limit) this.log.splice(0, this.log.length - this.limit);
  }

  /** Entries matching every given field; e.g. `count({ verb: 'update', resource: 'configmaps' })`. */
  filter(filter: RequestFilter = {}): RequestEntry[] {
    const pairs = Object.entries(filter).filter(([, v]) => v !== undefined) as [keyof RequestEntry, unknown][];
    return this.log.filter((e) => pairs.every(([k, v]) => e[k] === v));
  }

  count(filter: RequestFilter = {}): number {
    return this.filter(filter).length;
  }

  /** Counts per `"<verb> <resource>[/<subresource>]"` (or `"<verb> <path>"` for non-resource URLs). */
  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const e of this.log) {
      const key = e.resource ? `${e.verb} ${e.resource}${e.subresource ? `/${e.subresource}` : ''}` : `${e.verb} ${e.path}`;
      out[key] = (out[key] ?? 0) + 1;
    }
    return out;
  }

  reset(): void {
    this.log = [];
  }
}
