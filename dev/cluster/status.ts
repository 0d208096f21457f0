/**
 * Kubernetes `Status` bodies and the error type that carries one through the emulator.
 * Messages copy the real API server's wording because clients (helm, client-go, client-node)
 * and the tests match on `reason` and sometimes on the text.
 */
import type { RequestInfo } from './requests.js';

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: { reason?: string; message?: string; field?: string }[];
  retryAfterSeconds?: number;
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** Reason the API server uses for each HTTP status code. */
export const reasonForCode: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** An error answered as a Kubernetes Status; `headers` are added to the HTTP response. */
export class ApiError extends Error {
  readonly status: StatusBody;
  readonly headers: Record<string, string>;

  constructor(status: StatusBody, headers: Record<string, string> = {}) {
    super(status.message ?? status.reason ?? `HTTP ${status.code}`);
    this.name = 'ApiError';
    this.status = status;
    this.headers = headers;
  }

  get code(): number {
    return this.status.code;
  }
}

export function failure(options: { code: number; message: string; reason?: string; details?: StatusDetails }): StatusBody {
  // Key order as the real server writes it: ..., reason, details, code.
  const reason = options.reason ?? reasonForCode[options.code];
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: options.message,
    ...(reason ? { reason } : {}),
    ...(options.details ? { details: options.details } : {}),
    code: options.code,
  };
}

/** Identifies the resource in messages: `configmaps`, `deployments.apps`. */
function qualified(group: string, resource: string): string {
  return group ? `${resource}.${group}` : resource;
}

function details(group: string, resource: string, name: string | undefined): StatusDetails {
  const d: StatusDetails = {};
  if (name !== undefined) d.name = name;
  if (group) d.group = group;
  d.kind = resource;
  return d;
}

export function notFound(options: { group: string; resource: string; name: string }): ApiError {
  const { group, resource, name } = options;
  return new ApiError(
    failure({
      code: 404,
      message: `${qualified(group, resource)} "${name}" not found`,
      reason: 'NotFound',
      details: details(group, resource, name),
    }),
  );
}

export function alreadyExists(options: { group: string; resource: string; name: string }): ApiError {
  const { group, resource, name } = options;
  return new ApiError(
    failure({
      code: 409,
      message: `${qualified(group, resource)} "${name}" already exists`,
      reason: 'AlreadyExists',
      details: details(group, resource, name),
    }),
  );
}

export const modifiedMessage = 'the object has been modified; please apply your changes to the latest version and try again';

export function conflict(options: { group: string; resource: string; name: string; message?: string }): ApiError {
  const { group, resource, name } = options;
  return new ApiError(
    failure({
      code: 409,
      message: `Operation cannot be fulfilled on ${qualified(group, resource)} "${name}": ${options.message ?? modifiedMessage}`,
      reason: 'Conflict',
      details: details(group, resource, name),
    }),
  );
}

export function badRequest(message: string): ApiError {
  return new ApiError(failure({ code: 400, message, reason: 'BadRequest' }));
}

export interface FieldCause {
  field: string;
  /** `FieldValueInvalid`, `FieldValueRequired`, `FieldValueDuplicate`, `FieldValueForbidden`, `FieldValueTooLong`... */
  reason: string;
  /** The part after `<field>: `, e.g. `Invalid value: "x": must be ...`. */
  message: string;
}

/** 422 Invalid, formatted like apimachinery's `NewInvalid`. */
export function invalid(options: { group: string; kind: string; name: string; causes: FieldCause[] }): ApiError {
  const { group, kind, name, causes } = options;
  const qualifiedKind = group ? `${kind}.${group}` : kind;
  const parts = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const list = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  const d: StatusDetails = { name };
  if (group) d.group = group;
  d.kind = kind;
  d.causes = causes.map((c) => ({ reason: c.reason, message: c.message, field: c.field }));
  return new ApiError(failure({ code: 422, message: `${qualifiedKind} "${name}" is invalid: ${list}`, reason: 'Invalid', details: d }));
}

export function forbidden(options: RequestInfo & { user: string }): ApiError {
  const { user, verb, group, resource, subresource, namespace, name } = options;
  const what = subresource ? `${resource}/${subresource}` : resource;
  const subject = name ? `${qualified(group, what)} "${name}"` : qualified(group, what);
  const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope';
  return new ApiError(
    failure({
      code: 403,
      message: `${subject} is forbidden: User "${user}" cannot ${verb} resource "${what}" in API group "${group}" ${scope}`,
      reason: 'Forbidden',
      details: details(group, what, name),
    }),
  );
}

export function internalError(message: string): ApiError {
  return new ApiError(
    failure({
      code: 500,
      message: `Internal error occurred: ${message}`,
      reason: 'InternalError',
      details: { causes: [{ message }] },
    }),
  );
}

/** The generic 404 for a URL that names no resource. */
export function pathNotFound(): ApiError {
  return new ApiError(
    failure({
      code: 404,
      message: 'the server could not find the requested resource',
      reason: 'NotFound',
      details: {},
    }),
  );
}

export function methodNotAllowed(): ApiError {
  return new ApiError(
    failure({ code: 405, message: 'the server does not allow this method on the requested resource', reason: 'MethodNotAllowed', details: {} }),
  );
}

export function unsupportedMediaType(contentType: string): ApiError {
  return new ApiError(failure({ code: 415, message: `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got ${contentType})`, reason: 'UnsupportedMediaType', details: {} }));
}

/** The body of a successful DELETE for resources that do not return the deleted object (no `code`, like the real one). */
export function success(options: { group: string; resource: string; name: string; uid?: string }): Record<string, unknown> {
  const d = details(options.group, options.resource, options.name);
  if (options.uid) d.uid = options.uid;
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: d };
}
