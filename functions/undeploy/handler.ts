// POST / : remove a release's ingress rules, then uninstall it. Safe to repeat.
import { orchestratorHandler } from '#runtime/orchestrator/handler.js';
import type { UndeployInput } from '#runtime/orchestrator/types.js';
import { undeploy } from '#runtime/orchestrator/undeploy.js';

export const handler = orchestratorHandler<UndeployInput>({ schema: new URL('./schema.json', import.meta.url), run: undeploy });

export default handler;
