// POST / : helm install (body passed through to the helm function) + one ingress rule per exposed
// Service port. See runtime/orchestrator/deploy-and-expose.ts for idempotency and compensation.
import { readFileSync } from 'node:fs';
import { FunctionError } from '#runtime/errors.js';
import { deployAndExpose } from '#runtime/orchestrator/deploy-and-expose.js';
import { siblingAuthorization } from '#runtime/orchestrator/sibling-auth.js';
import { createSiblingClient } from '#runtime/orchestrator/sibling-client.js';
import type { DeployAndExposeInput } from '#runtime/orchestrator/types.js';
import type { FunctionHandler } from '#runtime/types.js';
import { compileValidator } from '#runtime/validate.js';

const validate = compileValidator<DeployAndExposeInput>(JSON.parse(readFileSync(new URL('./schema.json', import.meta.url), 'utf8')));

export const handler: FunctionHandler = async (req, ctx) => {
  if (req.path !== '/') throw new FunctionError('NOT_FOUND');
  if (req.method !== 'POST') throw new FunctionError('METHOD_NOT_ALLOWED');
  const input = validate(req.body ?? {});
  const client = createSiblingClient({
    gatewayUrl: ctx.config.gatewayUrl,
    authorization: await siblingAuthorization({ authorization: req.headers.authorization, config: ctx.config, log: ctx.log }),
    callId: ctx.callId,
    signal: ctx.signal,
    log: ctx.log,
  });
  return deployAndExpose({ client, input, helmTimeoutSeconds: ctx.config.helmTimeoutSeconds, log: ctx.log });
};

export default handler;
