// Release operations with stable results. Every input is checked before the first helm process
// starts; operations on one release are serialised inside this process (a second one is refused
// with OPERATION_IN_PROGRESS instead of queueing behind a long helm run).
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { RuntimeConfig } from '../config.js';
import { FunctionError } from '../errors.js';
import {
  getMetadataArgs,
  historyArgs,
  installArgs,
  listArgs,
  rollbackArgs,
  statusArgs,
  uninstallArgs,
  upgradeArgs,
  waitStrategy,
  type DeployCommon,
  type WaitStrategy,
} from './args.js';
import { releaseLockKey, withTryLock } from './lock.js';
import { assertNamespace, assertReleaseName, assertVersion } from './names.js';
import {
  isPending,
  releaseInfo,
  releaseStatus,
  releaseSummary,
  revisionSummary,
  type HelmHistoryRow,
  type HelmListRow,
  type HelmRelease,
  type ReleaseInfo,
  type ReleaseStatus,
  type ReleaseSummary,
  type RevisionSummary,
} from './release.js';
import { chartLocation, checkCredentials, refreshRepo, resolveChart, type ChartSource, type ResolvedChart } from './repo.js';
import { parseJsonOutput, runHelm } from './run.js';
import { helmSettings, type HelmSettings } from './settings.js';
import { requestValues, withValuesFile, type Scalar, type Values } from './values.js';

export interface OperationContext {
  config: RuntimeConfig;
  signal?: AbortSignal;
  log?: Logger;
  settings?: HelmSettings;
}

export const DEFAULT_NAMESPACE = 'default';

export interface DeployRequest extends ChartSource {
  namespace?: string;
  version?: string;
  /** --set style flat map; dotted keys nest. Applied over valuesObject. */
  values?: Record<string, Scalar>;
  valuesObject?: Values;
  /** Seconds; default config.helmTimeoutSeconds. */
  timeout?: number;
  wait?: boolean | WaitStrategy;
  rollbackOnFailure?: boolean;
}

export interface InstallRequest extends DeployRequest {
  /** Omitted: helm generates one. */
  releaseName?: string;
}

export interface UpgradeRequest extends DeployRequest {
  releaseName: string;
  /** Install when the release does not exist (helm upgrade --install). */
  install?: boolean;
  /** Start from the last release's values instead of the chart's. */
  reuseValues?: boolean;
}

export interface InstallResult extends ReleaseInfo {
  /** false when an identical release already existed and nothing was changed. */
  created: boolean;
}

export interface ReleaseRequest {
  releaseName: string;
  namespace?: string;
}

const isCode = (err: unknown, code: string): err is FunctionError => err instanceof FunctionError && err.code === code;

/** Runs helm with the call's config, signal and logger. */
const callHelm = (ctx: OperationContext, args: string[], extra: { chartRef?: string; timeoutSeconds?: number } = {}) =>
  runHelm({ args, ...extra, config: ctx.config, signal: ctx.signal, log: ctx.log });

/** The checked release name and namespace (default "default") of a request. */
function releaseRef(req: ReleaseRequest): Required<ReleaseRequest> {
  return { releaseName: assertReleaseName(req.releaseName), namespace: assertNamespace(req.namespace ?? DEFAULT_NAMESPACE) };
}

function installResult(rel: HelmRelease, created: boolean): InstallResult {
  const { services, ...info } = releaseInfo(rel);
  return { ...info, created, services };
}

interface Prepared {
  namespace: string;
  values: Values;
  timeoutSeconds: number;
  wait?: WaitStrategy;
  settings: HelmSettings;
}

// Everything that can be refused is refused here, before any helm process exists.
function prepare(req: DeployRequest & { releaseName?: string }, ctx: OperationContext): Prepared {
  const namespace = assertNamespace(req.namespace ?? DEFAULT_NAMESPACE);
  if (req.releaseName !== undefined) assertReleaseName(req.releaseName);
  if (req.version !== undefined) assertVersion(req.version);
  const settings = ctx.settings ?? helmSettings();
  chartLocation(req, settings);
  return {
    namespace,
    values: requestValues(req),
    timeoutSeconds: req.timeout ?? ctx.config.helmTimeoutSeconds,
    wait: waitStrategy(req.wait),
    settings,
  };
}

/** Runs a chart operation; a chart or version missing from a cached index triggers one refresh and retry. */
async function withChart<T>(
  req: ChartSource,
  ctx: OperationContext & { settings: HelmSettings },
  run: (chart: ResolvedChart) => Promise<T>,
): Promise<T> {
  const chart = await resolveChart(req, ctx);
  const started = Date.now();
  try {
    return await run(chart);
  } catch (err) {
    if (!isCode(err, 'CHART_NOT_FOUND') || !chart.repo) throw err;
    ctx.log?.info({ repo: chart.repo.name }, 'chart not in cached index, refreshing');
    await refreshRepo(chart.repo, started, ctx);
    return run(chart);
  }
}

interface HelmMetadata {
  chart?: string;
  version?: string;
  appVersion?: string;
}

/** `helm status -o json` leaves out the chart; `helm get metadata` has its name and versions. */
async function getRelease(ref: Required<ReleaseRequest> & { revision?: number }, ctx: OperationContext): Promise<HelmRelease> {
  const [status, metadata] = await Promise.all([callHelm(ctx, statusArgs(ref)), callHelm(ctx, getMetadataArgs(ref))]);
  const rel = parseJsonOutput<HelmRelease>(status.stdout);
  const meta = parseJsonOutput<HelmMetadata>(metadata.stdout);
  return { ...rel, chart: { metadata: { name: meta.chart, version: meta.version, appVersion: meta.appVersion } } };
}

/** An install met an existing release: same chart, version and values means success without change. */
async function existingOrConflict(
  ref: Required<ReleaseRequest>,
  want: { chart: string; version?: string; values: Values },
  ctx: OperationContext,
): Promise<InstallResult> {
  let rel: HelmRelease;
  try {
    rel = await getRelease(ref, ctx);
  } catch (err) {
    // Gone again between the two calls: still a name clash from the caller's point of view.
    if (isCode(err, 'RELEASE_NOT_FOUND')) throw new FunctionError('RELEASE_EXISTS', undefined, { ...ref });
    throw err;
  }
  const status = rel.info?.status;
  const meta = rel.chart?.metadata ?? {};
  const details = { ...ref, status, chart: meta.name, chartVersion: meta.version };
  if (isPending(status)) throw new FunctionError('OPERATION_IN_PROGRESS', undefined, details);
  const sameChart = meta.name === want.chart && (want.version === undefined || meta.version === want.version);
  // helm stores values after a YAML round trip; compare in JSON form, treating "no values" as {}.
  const sameValues = isDeepStrictEqual(JSON.parse(JSON.stringify(rel.config ?? {})), JSON.parse(JSON.stringify(want.values)));
  if (status === 'deployed' && sameChart && sameValues) return installResult(rel, false);
  throw new FunctionError('RELEASE_EXISTS', 'A release with this name exists with a different chart, version, values or state', details);
}

interface Deployment {
  chart: ResolvedChart;
  /** The flags install and upgrade share, for this chart and values file. */
  common: DeployCommon;
  /** Runs helm with these args; the release it printed. */
  helm: (args: string[]) => Promise<HelmRelease>;
}

/** helm install or upgrade: the chart resolved (see withChart) and the values written to a file. */
function deploy<T>(req: DeployRequest, p: Prepared, ctx: OperationContext, run: (deployment: Deployment) => Promise<T>): Promise<T> {
  return withChart(req, { ...ctx, settings: p.settings }, (chart) =>
    withValuesFile(p.values, (valuesFile) =>
      run({
        chart,
        common: {
          namespace: p.namespace,
          chart: chart.ref,
          version: req.version,
          valuesFile,
          timeoutSeconds: p.timeoutSeconds,
          wait: p.wait,
          rollbackOnFailure: req.rollbackOnFailure,
          createNamespace: ctx.config.createNamespace,
        },
        helm: async (args) => {
          const out = await callHelm(ctx, args, { chartRef: chart.ref, timeoutSeconds: p.timeoutSeconds });
          return parseJsonOutput<HelmRelease>(out.stdout);
        },
      }),
    ),
  );
}

/**
 * helm install. 201-style result (created: true) for a new release; an identical existing release
 * gives created: false; a different one RELEASE_EXISTS; one with a pending operation OPERATION_IN_PROGRESS.
 */
export async function installRelease(req: InstallRequest, ctx: OperationContext): Promise<InstallResult> {
  const p = prepare(req, ctx);
  const run = () =>
    deploy(req, p, ctx, async ({ chart, common, helm }) => {
      try {
        return installResult(await helm(installArgs({ ...common, releaseName: req.releaseName })), true);
      } catch (err) {
        if (!isCode(err, 'RELEASE_EXISTS') || req.releaseName === undefined) throw err;
        return existingOrConflict(
          { releaseName: req.releaseName, namespace: p.namespace },
          { chart: chart.name, version: req.version, values: p.values },
          ctx,
        );
      }
    });
  await checkCredentials(req, ctx.config);
  if (req.releaseName === undefined) return run();
  return withTryLock(releaseLockKey(p.namespace, req.releaseName), run);
}

/** helm upgrade (optionally --install). created is true only when --install made a new release. */
export async function upgradeRelease(req: UpgradeRequest, ctx: OperationContext): Promise<InstallResult> {
  const p = prepare(req, ctx);
  const releaseName = assertReleaseName(req.releaseName);
  await checkCredentials(req, ctx.config);
  return withTryLock(releaseLockKey(p.namespace, releaseName), () =>
    deploy(req, p, ctx, async ({ common, helm }) => {
      const rel = await helm(upgradeArgs({ ...common, releaseName, install: req.install, reuseValues: req.reuseValues }));
      return installResult(rel, Boolean(req.install) && rel.version === 1);
    }),
  );
}

export interface UninstallRequest extends ReleaseRequest {
  timeout?: number;
  wait?: boolean | WaitStrategy;
}

export interface UninstallResult {
  releaseName: string;
  namespace: string;
  /** false when there was no such release: uninstall is safe to repeat. */
  uninstalled: boolean;
}

export async function uninstallRelease(req: UninstallRequest, ctx: OperationContext): Promise<UninstallResult> {
  const { releaseName, namespace } = releaseRef(req);
  const timeoutSeconds = req.timeout ?? ctx.config.helmTimeoutSeconds;
  const args = uninstallArgs({ releaseName, namespace, timeoutSeconds, wait: waitStrategy(req.wait) });
  return withTryLock(releaseLockKey(namespace, releaseName), async () => {
    try {
      await callHelm(ctx, args, { timeoutSeconds });
      return { releaseName, namespace, uninstalled: true };
    } catch (err) {
      if (isCode(err, 'RELEASE_NOT_FOUND')) return { releaseName, namespace, uninstalled: false };
      throw err;
    }
  });
}

export interface ListRequest {
  namespace?: string;
  allNamespaces?: boolean;
  filter?: string;
  max?: number;
  offset?: number;
}

export async function listReleases(req: ListRequest, ctx: OperationContext): Promise<{ releases: ReleaseSummary[] }> {
  const args = listArgs({ ...req, namespace: req.allNamespaces ? undefined : (req.namespace ?? DEFAULT_NAMESPACE) });
  const out = await callHelm(ctx, args);
  const rows = parseJsonOutput<HelmListRow[] | null>(out.stdout) ?? [];
  return { releases: rows.map(releaseSummary) };
}

export interface StatusRequest extends ReleaseRequest {
  revision?: number;
}

export async function getReleaseStatus(req: StatusRequest, ctx: OperationContext): Promise<ReleaseStatus> {
  return releaseStatus(await getRelease({ ...releaseRef(req), revision: req.revision }, ctx));
}

export interface HistoryRequest extends ReleaseRequest {
  max?: number;
}

export interface HistoryResult {
  releaseName: string;
  namespace: string;
  revisions: RevisionSummary[];
}

export async function getReleaseHistory(req: HistoryRequest, ctx: OperationContext): Promise<HistoryResult> {
  const { releaseName, namespace } = releaseRef(req);
  const out = await callHelm(ctx, historyArgs({ releaseName, namespace, max: req.max }));
  const rows = parseJsonOutput<HelmHistoryRow[] | null>(out.stdout) ?? [];
  return { releaseName, namespace, revisions: rows.map(revisionSummary) };
}

export interface RollbackRequest extends ReleaseRequest {
  /** Omitted or 0: the previous revision. */
  revision?: number;
  timeout?: number;
  wait?: boolean | WaitStrategy;
}

/** helm rollback, then the release's new status (rollback has no JSON output). */
export async function rollbackRelease(req: RollbackRequest, ctx: OperationContext): Promise<ReleaseStatus> {
  const { releaseName, namespace } = releaseRef(req);
  const timeoutSeconds = req.timeout ?? ctx.config.helmTimeoutSeconds;
  const args = rollbackArgs({ releaseName, namespace, revision: req.revision, timeoutSeconds, wait: waitStrategy(req.wait) });
  return withTryLock(releaseLockKey(namespace, releaseName), async () => {
    await callHelm(ctx, args, { timeoutSeconds });
    return releaseStatus(await getRelease({ releaseName, namespace }, ctx));
  });
}
