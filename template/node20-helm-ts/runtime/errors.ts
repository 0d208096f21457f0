// The one catalogue of errors: every error a function can answer with has a stable code and an
// HTTP status here. Responses are `{"error":{"code","message","details"}}`.

export const ERRORS = {
  INVALID_INPUT: { status: 400, message: 'The request body is invalid' },
  UNAUTHORIZED: { status: 401, message: 'Unauthorized' },
  FORBIDDEN_BY_POLICY: { status: 403, message: 'The request is not allowed by policy' },
  NOT_FOUND: { status: 404, message: 'No such route' },
  RELEASE_NOT_FOUND: { status: 404, message: 'Release not found' },
  CHART_NOT_FOUND: { status: 404, message: 'Chart not found' },
  NAMESPACE_NOT_FOUND: { status: 404, message: 'Namespace not found' },
  RULE_NOT_FOUND: { status: 404, message: 'Ingress rule not found' },
  INGRESS_CONTROLLER_NOT_FOUND: { status: 404, message: 'No ingress controller has that address' },
  SERVICE_NOT_FOUND: { status: 404, message: 'Backend Service not found' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed' },
  RELEASE_EXISTS: { status: 409, message: 'Release already exists' },
  OPERATION_IN_PROGRESS: { status: 409, message: 'Another operation is in progress for this release' },
  PORT_TAKEN: { status: 409, message: 'Port is already used by another backend' },
  CONFLICT: { status: 409, message: 'The object was modified concurrently; retries exhausted' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'Request body too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Request body must be JSON' },
  INVALID_VALUES: { status: 422, message: 'Chart values are invalid' },
  PARTIAL_DEPLOYMENT: { status: 502, message: 'Deployment partially failed' },
  NO_FREE_PORT: { status: 507, message: 'No free port left in the configured range' },
  NO_INGRESS_CONTROLLER: { status: 503, message: 'No ingress controller found' },
  REPO_UNREACHABLE: { status: 502, message: 'Chart repository unreachable' },
  UPSTREAM_ERROR: { status: 502, message: 'A called function failed' },
  KUBE_API_ERROR: { status: 502, message: 'Kubernetes API error' },
  HELM_FAILED: { status: 500, message: 'helm failed' },
  TIMEOUT: { status: 504, message: 'Operation timed out' },
  CANCELLED: { status: 503, message: 'The operation was cancelled' },
  INTERNAL: { status: 500, message: 'Internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export class FunctionError extends Error {
  readonly code: ErrorCode | string;
  readonly status: number;
  readonly details?: unknown;

  constructor(code: ErrorCode, message?: string, details?: unknown, options?: { cause?: unknown }) {
    super(message ?? ERRORS[code].message, options);
    this.name = 'FunctionError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = details;
  }

  /** An error received from another function, passed through with its code and status unchanged. */
  static passthrough(status: number, body: ErrorBody['error']): FunctionError {
    const err = new FunctionError('UPSTREAM_ERROR', body.message, body.details);
    (err as { code: string }).code = body.code;
    (err as { status: number }).status = status;
    return err;
  }

  toJSON(): ErrorBody {
    const error: ErrorBody['error'] = { code: this.code, message: this.message };
    if (this.details !== undefined) error.details = this.details;
    return { error };
  }
}

/** Maps anything thrown to a status and body. Unknown errors never leak their message. */
export function toErrorResponse(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof FunctionError) return { status: err.status, body: err.toJSON() };
  return { status: 500, body: { error: { code: 'INTERNAL', message: ERRORS.INTERNAL.message } } };
}
