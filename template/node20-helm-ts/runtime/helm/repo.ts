// Chart repositories without shared mutable state: every process has its own repositories.yaml and
// index cache (home.ts), and each repository URL is added under a name derived from a hash of the URL
// (and of the credentials secret, so a repository added with one tenant's credentials is never reused
// for a request that did not name them). Adding is done once per process, serialised per name; the
// index is refreshed after a TTL, or when a chart or version is missing from it.
//
//   chartName "stable/<chart>"      -> STABLE_REPO_URL (or a repository "stable" in HELM_REPOSITORIES)
//   chartName "<repo>/<chart>"      -> the repository <repo> of HELM_REPOSITORIES, else CHART_NOT_FOUND
//   chartName "<chart>" + privateChartsRepo (with or without a trailing /index.yaml); "<alias>/<chart>"
//                                   is read as "<chart>" there, as the original API did
//   chartName "oci://..."           -> given to helm as is (helm cannot `repo add` an OCI registry)
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { RuntimeConfig } from '../config.js';
import { FunctionError } from '../errors.js';
import { repoAddArgs, repoUpdateArgs } from './args.js';
import { withMutex } from './lock.js';
import { assertChartRef, assertRepoUrl, assertSecretName, BARE_CHART, OCI_REF, REPO_CHART } from './names.js';
import { runHelm } from './run.js';
import { helmSettings, type HelmSettings } from './settings.js';

export interface ChartSource {
  chartName: string;
  privateChartsRepo?: string;
  /** Name of a secret file (config.secretsDir/<name>) holding {"username","password"}. */
  repoCredentialsSecret?: string;
}

export interface ChartRepo {
  /** Name in this process's repositories.yaml. */
  name: string;
  url: string;
  secret?: string;
}

export interface ResolvedChart {
  /** The chart argument helm receives. */
  ref: string;
  /** The chart's name (Chart.yaml `name`), for comparing with an existing release. */
  name: string;
  repo?: ChartRepo;
}

export interface RepoContext {
  config: RuntimeConfig;
  signal?: AbortSignal;
  log?: Logger;
  settings?: HelmSettings;
}

function invalid(path: string, message: string): never {
  throw new FunctionError('INVALID_INPUT', 'The request body is invalid', [{ path, message }]);
}

/** A repository URL as helm wants it: no trailing /index.yaml, no trailing slash. */
export function normalizeRepoUrl(url: string): string {
  const parsed = new URL(assertRepoUrl(url, 'url'));
  parsed.pathname = parsed.pathname.replace(/\/index\.yaml$/i, '').replace(/\/+$/, '');
  return parsed.href.replace(/\/+$/, '');
}

export function repoNameFor(url: string, secret?: string): string {
  const digest = createHash('sha256').update(`${url}\n${secret ?? ''}`).digest('hex');
  return `r-${digest.slice(0, 20)}`;
}

/** The chart name part of a reference: `repo/app` -> app, `oci://host/path/app:1.0` -> app. */
export function chartNameOf(ref: string): string {
  const last = ref.replace(/@sha256:[a-f0-9]+$/, '').split('/').pop() ?? ref;
  return ref.startsWith('oci://') ? last.replace(/:[^:]*$/, '') : last;
}

/**
 * Where a chart would be read from, before anything runs: the repository URL (normalised) or the
 * oci:// reference. Used for policy checks; throws INVALID_INPUT / CHART_NOT_FOUND like resolveChart.
 */
export function chartLocation(source: ChartSource, settings: HelmSettings = helmSettings()): { url: string; repo?: ChartRepo } {
  const chartName = assertChartRef(source.chartName);
  if (source.repoCredentialsSecret !== undefined) {
    assertSecretName(source.repoCredentialsSecret);
    if (source.privateChartsRepo === undefined) {
      invalid('/repoCredentialsSecret', 'is only used together with privateChartsRepo');
    }
  }
  if (OCI_REF.test(chartName)) {
    if (source.privateChartsRepo !== undefined) invalid('/privateChartsRepo', 'must not be set for an oci:// chart');
    return { url: chartName };
  }
  if (source.privateChartsRepo !== undefined) {
    // "alias/chart" is accepted as the original API wrote it; the alias names nothing here.
    if (!BARE_CHART.test(chartName) && !REPO_CHART.test(chartName)) {
      invalid('/chartName', 'must be a chart name (or alias/chart) when privateChartsRepo is set');
    }
    const url = normalizeRepoUrl(source.privateChartsRepo);
    const secret = source.repoCredentialsSecret;
    return { url, repo: { name: repoNameFor(url, secret), url, ...(secret ? { secret } : {}) } };
  }
  const m = REPO_CHART.exec(chartName);
  if (!m) invalid('/chartName', 'must be "repo/chart" or an oci:// reference, or come with privateChartsRepo');
  const configured = settings.repositories.get(m[1]);
  if (configured === undefined) {
    throw new FunctionError('CHART_NOT_FOUND', `Repository "${m[1]}" is not configured`, { repository: m[1] });
  }
  const url = normalizeRepoUrl(configured);
  return { url, repo: { name: repoNameFor(url), url } };
}

interface RepoState {
  /** When the index was last fetched (repo add or update), ms since epoch. */
  fetchedAt: number;
}

const repos = new Map<string, RepoState>();

/** Refuses an unusable repoCredentialsSecret before any lock is taken or helm is started. */
export async function checkCredentials(source: { repoCredentialsSecret?: string }, config: RuntimeConfig): Promise<void> {
  if (source.repoCredentialsSecret !== undefined) await readCredentials(config, source.repoCredentialsSecret);
}

async function readCredentials(config: RuntimeConfig, secret: string): Promise<{ username: string; password: string }> {
  const name = assertSecretName(secret);
  const unusable = () =>
    new FunctionError('INVALID_INPUT', 'repoCredentialsSecret does not name a usable credentials secret', [
      { path: '/repoCredentialsSecret', message: 'must name a secret holding {"username","password"}' },
    ]);
  // The function's own bearer token is never offered to a chart repository.
  if (config.authSecretName && name === config.authSecretName) throw unusable();
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(join(config.secretsDir, name), 'utf8'));
  } catch {
    throw unusable();
  }
  const { username, password } = (parsed ?? {}) as { username?: unknown; password?: unknown };
  if (typeof username !== 'string' || typeof password !== 'string' || username === '' || password === '') throw unusable();
  return { username, password };
}

async function addRepo(repo: ChartRepo, ctx: RepoContext): Promise<void> {
  const creds = repo.secret ? await readCredentials(ctx.config, repo.secret) : undefined;
  await runHelm({
    args: repoAddArgs({ name: repo.name, url: repo.url, username: creds?.username, timeoutSeconds: ctx.config.helmTimeoutSeconds }),
    input: creds ? `${creds.password}\n` : undefined,
    secrets: creds ? [creds.password] : undefined,
    config: ctx.config,
    signal: ctx.signal,
    log: ctx.log,
  });
}

async function updateRepo(repo: ChartRepo, ctx: RepoContext): Promise<void> {
  await runHelm({
    args: repoUpdateArgs({ names: [repo.name], timeoutSeconds: ctx.config.helmTimeoutSeconds }),
    config: ctx.config,
    signal: ctx.signal,
    log: ctx.log,
  });
}

/** Adds the repository, or updates its index, unless `fresh` says the last fetch is good enough. */
async function fetchIndex(repo: ChartRepo, ctx: RepoContext, fresh: (state: RepoState) => boolean): Promise<void> {
  await withMutex(`repo:${repo.name}`, async () => {
    const state = repos.get(repo.name);
    if (state && fresh(state)) return;
    if (state) await updateRepo(repo, ctx);
    else await addRepo(repo, ctx);
    repos.set(repo.name, { fetchedAt: Date.now() });
  });
}

/** Makes sure the repository is added and its index is younger than the TTL. */
export async function ensureRepo(repo: ChartRepo, ctx: RepoContext): Promise<void> {
  const ttl = (ctx.settings ?? helmSettings()).indexTtlMs;
  await fetchIndex(repo, ctx, (state) => Date.now() - state.fetchedAt < ttl);
}

/**
 * Fetches the index again unless that already happened after `since` (another request refreshed it
 * while this one was failing on the older index).
 */
export async function refreshRepo(repo: ChartRepo, since: number, ctx: RepoContext): Promise<void> {
  await fetchIndex(repo, ctx, (state) => state.fetchedAt > since);
}

/** Resolves a request's chart to what helm installs, adding its repository first when needed. */
export async function resolveChart(source: ChartSource, ctx: RepoContext): Promise<ResolvedChart> {
  const settings = ctx.settings ?? helmSettings();
  const location = chartLocation(source, settings);
  if (!location.repo) return { ref: location.url, name: chartNameOf(location.url) };
  await ensureRepo(location.repo, { ...ctx, settings });
  const chart = chartNameOf(source.chartName);
  return { ref: `${location.repo.name}/${chart}`, name: chart, repo: location.repo };
}
