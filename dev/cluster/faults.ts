/**
 * Fault injection: make matching requests fail with a given status, answer late, or hit a
 * write conflict, a bounded number of times. Matching is on the request's verb
 * (get, list, watch, create, update, patch, delete, deletecollection), group, resource
 * (optionally `resource/subresource`), namespace and name; an omitted field matches anything.
 */
import type { RequestInfo } from './requests.js';
import { ApiError, conflict, failure, reasonForCode } from './status.js';

export interface FaultMatch {
  verb?: string | string[];
  group?: string;
  /** Plural resource name; `deployments/status` matches the subresource only. */
  resource?: string;
  namespace?: string;
  name?: string;
}

export interface InjectOptions extends FaultMatch {
  /** HTTP status to answer with (500, 503, 429, 409, 403, 504...). */
  status: number;
  /** How many matching requests fail; unlimited when omitted. */
  times?: number;
  /** Wait this long before answering the failure. */
  latencyMs?: number;
  message?: string;
  /**
   * Seconds in a `Retry-After` header (and `details.retryAfterSeconds`). 429 always carries one
   * (default 1); other codes only when this is set. client-go retries such answers by itself.
   */
  retryAfterSeconds?: number;
}

export interface DelayOptions extends FaultMatch {
  ms: number;
  /** How many matching requests are delayed; unlimited when omitted. */
  times?: number;
}

export interface ConflictOptions {
  resource: string;
  namespace?: string;
  name: string;
  group?: string;
}

export type FaultRule =
  | ({ kind: 'inject'; remaining: number } & InjectOptions)
  | ({ kind: 'delay'; remaining: number } & DelayOptions)
  | ({ kind: 'conflict'; remaining: number } & ConflictOptions);

/** What the request pipeline should do before handling a request. */
export interface FaultDecision {
  delayMs: number;
  error?: ApiError;
}

const writeVerbs = ['update', 'patch', 'delete'];

function matches(rule: FaultMatch, request: RequestInfo): boolean {
  if (rule.verb !== undefined) {
    const verbs = Array.isArray(rule.verb) ? rule.verb : [rule.verb];
    if (!verbs.includes(request.verb)) return false;
  }
  if (rule.group !== undefined && rule.group !== request.group) return false;
  if (rule.resource !== undefined) {
    // `deployments` matches the resource and its subresources; `deployments/status` only the latter.
    const full = request.subresource ? `${request.resource}/${request.subresource}` : request.resource;
    if (rule.resource !== (rule.resource.includes('/') ? full : request.resource)) return false;
  }
  if (rule.namespace !== undefined && rule.namespace !== request.namespace) return false;
  if (rule.name !== undefined && rule.name !== request.name) return false;
  return true;
}

function injectedError(rule: InjectOptions, request: RequestInfo): ApiError {
  const code = rule.status;
  const headers: Record<string, string> = {};
  const details: Record<string, unknown> = {};
  if (request.name) details.name = request.name;
  if (request.group) details.group = request.group;
  details.kind = request.resource;
  if (code === 429 || rule.retryAfterSeconds !== undefined) {
    const seconds = rule.retryAfterSeconds ?? 1;
    headers['Retry-After'] = String(seconds);
    details.retryAfterSeconds = seconds;
  }
  const defaults: Record<number, string> = {
    429: 'Too many requests, please try again later.',
    500: 'Internal error occurred: injected fault',
    503: 'The server is currently unable to handle the request',
    504: 'The server was unable to return a response in the time allotted, but may still be processing the request',
  };
  const message = rule.message ?? defaults[code] ?? `injected fault (HTTP ${code})`;
  return new ApiError(failure({ code, message, reason: reasonForCode[code], details }), headers);
}

export class Faults {
  private rules: FaultRule[] = [];

  /** Matching requests fail with `status` (with a proper Status body; 429 carries Retry-After). */
  inject(options: InjectOptions): void {
    this.rules.push({ kind: 'inject', remaining: options.times ?? Infinity, ...options });
  }

  /** Matching requests are answered `ms` later (enough to make clients time out). */
  delay(options: DelayOptions): void {
    this.rules.push({ kind: 'delay', remaining: options.times ?? Infinity, ...options });
  }

  /** The next update, patch or delete of this object gets 409 Conflict, as if someone wrote first. */
  conflictNext(options: ConflictOptions): void {
    this.rules.push({ kind: 'conflict', remaining: 1, ...options });
  }

  clear(): void {
    this.rules = [];
  }

  /** Active rules (with how many times each may still fire). */
  list(): FaultRule[] {
    return this.rules.map((r) => ({ ...r }));
  }

  /** Consumes the rules that match this request and says what to do. */
  decide(request: RequestInfo): FaultDecision {
    const decision: FaultDecision = { delayMs: 0 };
    for (const rule of this.rules) {
      if (rule.remaining <= 0) continue;
      if (rule.kind === 'delay' && matches(rule, request)) {
        rule.remaining--;
        decision.delayMs += rule.ms;
      } else if (rule.kind === 'inject' && !decision.error && matches(rule, request)) {
        rule.remaining--;
        decision.delayMs += rule.latencyMs ?? 0;
        decision.error = injectedError(rule, request);
      } else if (
        rule.kind === 'conflict' &&
        !decision.error &&
        writeVerbs.includes(request.verb) &&
        rule.resource === request.resource &&
        (rule.group === undefined || rule.group === request.group) &&
        (rule.namespace ?? '') === (request.namespace ?? '') &&
        rule.name === request.name
      ) {
        rule.remaining--;
        decision.error = conflict({ group: request.group, resource: request.resource, name: rule.name });
      }
    }
    this.rules = this.rules.filter((r) => r.remaining > 0);
    return decision;
  }
}
