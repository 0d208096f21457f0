// POST / : helm install (body passed through to the helm function) + one ingress rule per exposed
// Service port. See runtime/orchestrator/deploy-and-expose.ts for idempotency and compensation.
import { checkExposePolicy, deployAndExpose } from '#runtime/orchestrator/deploy-and-expose.js';
import { orchestratorHandler } from '#runtime/orchestrator/handler.js';
import type { DeployAndExposeInput } from '#runtime/orchestrator/types.js';

export const handler = orchestratorHandler<DeployAndExposeInput>({ schema: new URL('./schema.json', import.meta.url), check: checkExposePolicy, run: deployAndExpose });

export default handler;
