// deploy-and-expose: helm install, then one ingress rule per exposed Service port.
//
// Duplicate deliveries (at-least-once triggers, client retries) converge on one result: the helm
// function answers an identical install of an existing release with created:false, ingress-rule
// answers an existing rule for the same target with the same port, and a delivery that meets
// another one mid-install gets 409 OPERATION_IN_PROGRESS, which the sibling client waits out.
//
// Failure after the install is compensated, so a failed call leaves nothing behind that it made:
//   1. rules are deleted by target (ingress-rule /delete, idempotent): if this call created the
//      release (created:true), every target it tried, since a rule pointing at an uninstalled
//      Service is a leak whoever made it; otherwise only the rules this call created (created:true)
//      and the one whose creation failed (it may be half-written, e.g. the ConfigMap entry without
//      the Service port). Rules that already existed for a release this call did not create
//      (created:false: an earlier delivery's, which may have answered its caller) are kept;
//   2. the release is uninstalled only if this call created it, never a release an earlier
//      delivery or another caller made, and only once its rules are gone;
//   3. the answer is the original error with details.rolledBack = true.
// If compensation itself fails the answer is PARTIAL_DEPLOYMENT (502) whose details name what still
// exists; undeploy removes it. A duplicate delivery running at the same moment as a failing one
// may see its release removed under it: compensation favours leaving no orphaned ports.
import type { Logger } from 'pino';
import type { RuntimeConfig } from '../config.js';
import { FunctionError } from '../errors.js';
import { checkPort } from '../policy.js';
import { durationToMs } from './duration.js';
import { selectTargets } from './select-targets.js';
import type { SiblingClient } from './sibling-client.js';
import type {
  DeployAndExposeAnswer,
  DeployAndExposeInput,
  Endpoint,
  ExposeTarget,
  HelmInstallAnswer,
  OrchestrationOptions,
  RuleAnswer,
} from './types.js';

export type DeployAndExposeOptions = OrchestrationOptions<DeployAndExposeInput>;

/** Room for helm's own start-up, chart download and the answer, beyond the helm timeout. */
const HELM_CALL_MARGIN_MS = 30_000;
export const RULE_CALL_TIMEOUT_MS = 30_000;

/**
 * A requested external port outside the range (or reserved by the controller) is refused before
 * anything is installed, instead of installing and then rolling back when ingress-rule refuses it.
 */
export function checkExposePolicy(input: DeployAndExposeInput, config: RuntimeConfig): void {
  if (input.expose?.port !== undefined) checkPort(input.expose.port, config.portRange);
}

export function helmCallTimeoutMs(timeout: unknown, helmTimeoutSeconds: number): number {
  return (durationToMs(timeout) ?? helmTimeoutSeconds * 1000) + HELM_CALL_MARGIN_MS;
}

/** The endpoint fields of a rule as ingress-rule answers it (/create, /delete). */
export function toEndpoint(rule: Endpoint): Endpoint {
  const { ip, port, protocol, serviceName, servicePort, notice } = rule;
  return { ip, port, protocol, serviceName, servicePort, ...(notice !== undefined && { notice }) };
}

function describe(err: unknown): { code: string; message: string } {
  return err instanceof FunctionError ? { code: err.code, message: err.message } : { code: 'INTERNAL', message: String(err) };
}

export async function deployAndExpose({ client, input, helmTimeoutSeconds, log }: DeployAndExposeOptions): Promise<{
  status: number;
  body: DeployAndExposeAnswer;
}> {
  const { expose = {}, ...installInput } = input;
  const installTimeoutMs = helmCallTimeoutMs(input.timeout, helmTimeoutSeconds);
  const install = await client.call<HelmInstallAnswer>({ function: 'helm', path: '/install', body: installInput, timeoutMs: installTimeoutMs });
  const release = install.body;
  log?.info({ releaseName: release.releaseName, namespace: release.namespace, created: release.created }, 'release installed');

  let targets: ExposeTarget[];
  try {
    targets = selectTargets(release.services ?? [], expose);
  } catch (err) {
    throw await compensate({ client, cause: err, release, rules: [], installTimeoutMs, log });
  }
  const claim = (target: ExposeTarget) =>
    client.call<RuleAnswer>({
      function: 'ingress-rule',
      path: '/create',
      timeoutMs: RULE_CALL_TIMEOUT_MS,
      body: {
        namespace: target.namespace,
        serviceName: target.serviceName,
        servicePort: target.servicePort,
        protocol: target.protocol,
        releaseName: release.releaseName,
        ...(expose.lbip !== undefined && { lbip: expose.lbip }),
        ...(expose.port !== undefined && { port: expose.port }),
      },
    });
  // Claims of one protocol follow each other: they are compare-and-swaps on the same object and
  // would only contend. The TCP and UDP claims run side by side (ingress-nginx: different
  // ConfigMaps, and the ingress function coalesces their Service update; gateway-api: one Gateway,
  // whose writer batches them when they reach the same instance). After a failure no further claim
  // is started.
  const outcomes: ({ ok: true; rule: RuleAnswer } | { ok: false; err: unknown } | undefined)[] = targets.map(() => undefined);
  let failed = false;
  await Promise.all(
    (['tcp', 'udp'] as const).map(async (protocol) => {
      for (const [i, target] of targets.entries()) {
        if (target.protocol !== protocol || failed) continue;
        try {
          outcomes[i] = { ok: true, rule: (await claim(target)).body };
        } catch (err) {
          outcomes[i] = { ok: false, err };
          failed = true;
        }
      }
    }),
  );
  const made = targets.filter((_, i) => outcomes[i]?.ok && outcomes[i].rule.created);
  const found = targets.filter((_, i) => outcomes[i]?.ok && !outcomes[i].rule.created);
  // A failed claim may be half-written (the ConfigMap entry without the Service port).
  const broken = targets.filter((_, i) => outcomes[i]?.ok === false);
  const firstError = outcomes.find((o) => o?.ok === false);
  if (firstError) {
    const rules = [...made, ...broken, ...(release.created ? found : [])];
    throw await compensate({ client, cause: firstError.err, release, rules, installTimeoutMs, log });
  }
  const endpoints: Endpoint[] = outcomes.map((o) => toEndpoint((o as { rule: RuleAnswer }).rule));

  return {
    status: release.created ? 201 : 200,
    body: { releaseName: release.releaseName, namespace: release.namespace, created: release.created, endpoints },
  };
}

interface CompensateOptions {
  client: SiblingClient;
  cause: unknown;
  release: HelmInstallAnswer;
  /** The rules to delete. */
  rules: ExposeTarget[];
  installTimeoutMs: number;
  log?: Logger;
}

/** Undoes what this call made; returns the error to answer with. */
async function compensate({ client, cause, release, rules, installTimeoutMs, log }: CompensateOptions): Promise<FunctionError> {
  const failures: { step: string; target?: ExposeTarget; code: string; message: string }[] = [];
  const remainingRules: ExposeTarget[] = [];
  for (const target of rules) {
    try {
      await client.call({ function: 'ingress-rule', path: '/delete', body: target, timeoutMs: RULE_CALL_TIMEOUT_MS, detached: true });
    } catch (err) {
      remainingRules.push(target);
      failures.push({ step: 'delete-rule', target, ...describe(err) });
    }
  }
  // A release is only removed once all its rules are: the release is how undeploy finds the rules
  // (through its Services), so keeping it leaves a recovery path (call undeploy).
  let releaseRemains = release.created && remainingRules.length > 0;
  if (release.created && remainingRules.length === 0) {
    try {
      await client.call({
        function: 'helm',
        path: '/uninstall',
        body: { releaseName: release.releaseName, namespace: release.namespace },
        timeoutMs: installTimeoutMs,
        detached: true,
      });
    } catch (err) {
      releaseRemains = true;
      failures.push({ step: 'uninstall', ...describe(err) });
    }
  }

  const original = cause instanceof FunctionError ? cause : new FunctionError('INTERNAL', undefined, undefined, { cause });
  if (failures.length === 0) {
    log?.warn({ releaseName: release.releaseName, code: original.code }, 'exposure failed, rolled back');
    const details = original.details;
    const merged =
      typeof details === 'object' && details !== null && !Array.isArray(details)
        ? { ...(details as Record<string, unknown>), rolledBack: true }
        : details === undefined
          ? { rolledBack: true }
          : { upstream: details, rolledBack: true };
    const err = new FunctionError('INTERNAL', original.message, merged, { cause });
    (err as { code: string }).code = original.code;
    (err as { status: number }).status = original.status;
    return err;
  }
  log?.error({ releaseName: release.releaseName, failures }, 'exposure failed and rollback is incomplete');
  return new FunctionError(
    'PARTIAL_DEPLOYMENT',
    `Exposing release ${release.releaseName} failed (${original.code}) and the rollback is incomplete; undeploy the release to clean up`,
    {
      rolledBack: false,
      cause: { code: original.code, message: original.message, details: original.details },
      releaseName: release.releaseName,
      namespace: release.namespace,
      // What still exists because of this call.
      remaining: { release: releaseRemains, rules: remainingRules },
      failures,
    },
    { cause },
  );
}
