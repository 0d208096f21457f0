// The HTTP side the orchestrator functions share: only POST / is served, the body is validated
// against the function's schema, and the orchestration gets a sibling client that carries the
// caller's credentials and call id.
import { readFileSync } from 'node:fs';
import type { RuntimeConfig } from '../config.js';
import { FunctionError } from '../errors.js';
import type { FunctionHandler, FunctionResponse } from '../types.js';
import { compileValidator } from '../validate.js';
import { siblingAuthorization } from './sibling-auth.js';
import { createSiblingClient } from './sibling-client.js';
import type { OrchestrationOptions } from './types.js';

export function orchestratorHandler<T>({
  schema,
  check,
  run,
}: {
  /** The function's schema.json. */
  schema: URL;
  /** Policy checks that need the configuration, run before any sibling is called. */
  check?: (input: T, config: RuntimeConfig) => void;
  run: (options: OrchestrationOptions<T>) => Promise<FunctionResponse>;
}): FunctionHandler {
  const validate = compileValidator<T>(JSON.parse(readFileSync(schema, 'utf8')));
  return async (req, ctx) => {
    if (req.path !== '/') throw new FunctionError('NOT_FOUND');
    if (req.method !== 'POST') throw new FunctionError('METHOD_NOT_ALLOWED');
    const input = validate(req.body === undefined ? {} : req.body);
    check?.(input, ctx.config);
    const client = createSiblingClient({
      gatewayUrl: ctx.config.gatewayUrl,
      authorization: await siblingAuthorization({ authorization: req.headers.authorization, config: ctx.config, log: ctx.log }),
      callId: ctx.callId,
      signal: ctx.signal,
      log: ctx.log,
    });
    return run({ client, input, helmTimeoutSeconds: ctx.config.helmTimeoutSeconds, log: ctx.log });
  };
}
