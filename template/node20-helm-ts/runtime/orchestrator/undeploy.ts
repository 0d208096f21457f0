// undeploy: remove the ingress rules of every Service of a release, then uninstall the release.
//
// Rules go first: the release's Services are how its rules are found, so if a rule cannot be
// deleted the call fails before the uninstall and a retry finds everything again. Safe to repeat:
// a missing release has no Services, deleting absent rules deletes nothing, and uninstalling a
// missing release answers uninstalled:false.
import { FunctionError } from '../errors.js';
import { helmCallTimeoutMs, RULE_CALL_TIMEOUT_MS, toEndpoint } from './deploy-and-expose.js';
import type { Endpoint, HelmStatusAnswer, HelmUninstallAnswer, OrchestrationOptions, ReleaseService, UndeployAnswer, UndeployInput } from './types.js';

export type UndeployOptions = OrchestrationOptions<UndeployInput>;

export async function undeploy({ client, input, helmTimeoutSeconds, log }: UndeployOptions): Promise<{ status: number; body: UndeployAnswer }> {
  const timeoutMs = helmCallTimeoutMs(undefined, helmTimeoutSeconds);
  const target = { releaseName: input.releaseName, ...(input.namespace !== undefined && { namespace: input.namespace }) };

  let services: ReleaseService[] = [];
  let namespace = input.namespace;
  try {
    const status = await client.call<HelmStatusAnswer>({ function: 'helm', path: '/status', body: target, timeoutMs });
    services = status.body.services ?? [];
    namespace = status.body.namespace ?? namespace;
  } catch (err) {
    if (!(err instanceof FunctionError && err.code === 'RELEASE_NOT_FOUND')) throw err;
  }

  const removedEndpoints: Endpoint[] = [];
  for (const service of services) {
    const deleted = await client.call<{ deleted?: Endpoint[] }>({
      function: 'ingress-rule',
      path: '/delete',
      body: { namespace: service.namespace, serviceName: service.name },
      timeoutMs: RULE_CALL_TIMEOUT_MS,
    });
    removedEndpoints.push(...(deleted.body.deleted ?? []).map(toEndpoint));
  }

  let uninstalled = false;
  let uninstallNamespace: string | undefined;
  try {
    const answer = await client.call<HelmUninstallAnswer>({ function: 'helm', path: '/uninstall', body: target, timeoutMs });
    uninstalled = answer.body.uninstalled;
    uninstallNamespace = answer.body.namespace;
  } catch (err) {
    if (!(err instanceof FunctionError && err.code === 'RELEASE_NOT_FOUND')) throw err;
  }
  log?.info({ releaseName: input.releaseName, removed: removedEndpoints.length, uninstalled }, 'release undeployed');
  return {
    status: 200,
    body: {
      releaseName: input.releaseName,
      namespace: namespace ?? uninstallNamespace ?? 'default',
      removedEndpoints,
      uninstalled,
    },
  };
}
