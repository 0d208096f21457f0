// POST / : remove a release's ingress rules, then uninstall it. Safe to repeat.
import { readFileSync } from 'node:fs';
import { FunctionError } from '#runtime/errors.js';
import { siblingAuthorization } from '#runtime/orchestrator/sibling-auth.js';
import { createSiblingClient } from '#runtime/orchestrator/sibling-client.js';
import type { UndeployInput } from '#runtime/orchestrator/types.js';
import { undeploy } from '#runtime/orchestrator/undeploy.js';
import type { FunctionHandler } from '#runtime/types.js';
import { compileValidator } from '#runtime/validate.js';

const validate = compileValidator<UndeployInput>(JSON.parse(readFileSync(new URL('./schema.json', import.meta.url), 'utf8')));

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
  return undeploy({ client, input, helmTimeoutSeconds: ctx.config.helmTimeoutSeconds, log: ctx.log });
};

export default handler;
