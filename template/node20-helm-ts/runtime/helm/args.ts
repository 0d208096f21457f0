// argv for each helm operation. Always `--flag=value`, flags first, then `--`, then positionals, so no
// request value is ever parsed as a flag. Names are checked again here (defence in depth), and the
// builders offer no way to pass --kubeconfig, --kube-context, --post-renderer, --set-file or remote
// values: those stay under the function's control.
import { FunctionError } from '../errors.js';
import {
  assertChartRef,
  assertNamespace,
  assertReleaseName,
  assertRepoName,
  assertRepoUrl,
  assertVersion,
} from './names.js';

export type WaitStrategy = 'watcher' | 'hookOnly' | 'legacy';

/** `wait` of a request: true means helm's `watcher`, false (or absent) leaves helm's default (hookOnly). */
export function waitStrategy(wait: boolean | WaitStrategy | undefined): WaitStrategy | undefined {
  if (wait === undefined || wait === false) return undefined;
  if (wait === true) return 'watcher';
  if (wait === 'watcher' || wait === 'hookOnly' || wait === 'legacy') return wait;
  throw new FunctionError('INVALID_INPUT', 'Invalid wait', [{ path: '/wait', message: 'must be a boolean or watcher|hookOnly|legacy' }]);
}

export const MAX_TIMEOUT_SECONDS = 3600;

/** A request's timeout: whole seconds, or a helm-style duration ("90s", "5m", "1h", "1m30s"). */
export function parseTimeout(value: number | string): number {
  let seconds = Number.NaN;
  if (typeof value === 'number') seconds = value;
  else {
    const m = /^(?=\d)(?:(\d{1,2})h)?(?:(\d{1,4})m)?(?:(\d{1,5})s)?$/.exec(value);
    if (m) seconds = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  }
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_TIMEOUT_SECONDS) {
    throw new FunctionError('INVALID_INPUT', 'Invalid timeout', [
      { path: '/timeout', message: `must be 1 to ${MAX_TIMEOUT_SECONDS} seconds, as a number or a duration like "90s" or "5m"` },
    ]);
  }
  return seconds;
}

function timeoutFlag(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 86_400) {
    throw new FunctionError('INVALID_INPUT', 'Invalid timeout', [{ path: '/timeout', message: 'must be whole seconds' }]);
  }
  return `--timeout=${seconds}s`;
}

function revisionArg(revision: number, field = 'revision'): string {
  if (!Number.isInteger(revision) || revision < 0) {
    throw new FunctionError('INVALID_INPUT', `Invalid ${field}`, [{ path: `/${field}`, message: 'must be a non-negative integer' }]);
  }
  return String(revision);
}

// The values file path is made by values.ts under the function's own temp dir, never by a caller.
function valuesFlag(path: string | undefined): string[] {
  if (path === undefined) return [];
  if (!path.startsWith('/') || /[\u0000-\u001f]/.test(path)) throw new Error('values file must be an absolute local path');
  return [`--values=${path}`];
}

/** The flags install and upgrade share. */
export interface DeployCommon {
  namespace: string;
  chart: string;
  version?: string;
  valuesFile?: string;
  timeoutSeconds: number;
  wait?: WaitStrategy;
  rollbackOnFailure?: boolean;
  createNamespace?: boolean;
}

function deployFlags(o: DeployCommon): string[] {
  const flags = [`--namespace=${assertNamespace(o.namespace)}`, '--output=json', timeoutFlag(o.timeoutSeconds)];
  if (o.wait) flags.push(`--wait=${waitStrategy(o.wait)}`);
  if (o.rollbackOnFailure) flags.push('--rollback-on-failure');
  if (o.version !== undefined) flags.push(`--version=${assertVersion(o.version)}`);
  flags.push(...valuesFlag(o.valuesFile));
  return flags;
}

export interface InstallArgs extends DeployCommon {
  /** Omitted: helm picks a name (--generate-name). */
  releaseName?: string;
}

export function installArgs(o: InstallArgs): string[] {
  const chart = assertChartRef(o.chart, 'chart');
  const flags = deployFlags(o);
  if (o.createNamespace) flags.push('--create-namespace');
  if (o.releaseName === undefined) return ['install', ...flags, '--generate-name', '--', chart];
  return ['install', ...flags, '--', assertReleaseName(o.releaseName), chart];
}

export interface UpgradeArgs extends DeployCommon {
  releaseName: string;
  /** upgrade --install: install when the release does not exist. */
  install?: boolean;
  reuseValues?: boolean;
}

export function upgradeArgs(o: UpgradeArgs): string[] {
  const chart = assertChartRef(o.chart, 'chart');
  const flags = deployFlags(o);
  if (o.install) flags.push('--install');
  if (o.install && o.createNamespace) flags.push('--create-namespace');
  if (o.reuseValues) flags.push('--reuse-values');
  return ['upgrade', ...flags, '--', assertReleaseName(o.releaseName), chart];
}

export interface ReleaseRef {
  releaseName: string;
  namespace: string;
}

export interface UninstallArgs extends ReleaseRef {
  timeoutSeconds: number;
  wait?: WaitStrategy;
}

export function uninstallArgs(o: UninstallArgs): string[] {
  const flags = [`--namespace=${assertNamespace(o.namespace)}`, timeoutFlag(o.timeoutSeconds)];
  if (o.wait) flags.push(`--wait=${waitStrategy(o.wait)}`);
  return ['uninstall', ...flags, '--', assertReleaseName(o.releaseName)];
}

export interface ListArgs {
  /** Omitted with allNamespaces: every namespace. */
  namespace?: string;
  allNamespaces?: boolean;
  /** Go regular expression on release names (RE2: no catastrophic backtracking). */
  filter?: string;
  max?: number;
  offset?: number;
}

export function listArgs(o: ListArgs): string[] {
  // Every current state, pending ones included: a release stuck in pending-* must be visible.
  const flags = ['--output=json', '--deployed', '--failed', '--pending', '--uninstalling'];
  if (o.allNamespaces) flags.push('--all-namespaces');
  else flags.push(`--namespace=${assertNamespace(o.namespace ?? 'default')}`);
  if (o.filter !== undefined) {
    if (/[\u0000-\u001f]/.test(o.filter) || o.filter.length > 256) {
      throw new FunctionError('INVALID_INPUT', 'Invalid filter', [{ path: '/filter', message: 'must be a short regular expression' }]);
    }
    flags.push(`--filter=${o.filter}`);
  }
  if (o.max !== undefined) flags.push(`--max=${revisionArg(o.max, 'max')}`);
  if (o.offset !== undefined) flags.push(`--offset=${revisionArg(o.offset, 'offset')}`);
  return ['list', ...flags];
}

export function statusArgs(o: ReleaseRef & { revision?: number }): string[] {
  const flags = [`--namespace=${assertNamespace(o.namespace)}`, '--output=json'];
  if (o.revision !== undefined) flags.push(`--revision=${revisionArg(o.revision)}`);
  return ['status', ...flags, '--', assertReleaseName(o.releaseName)];
}

export function historyArgs(o: ReleaseRef & { max?: number }): string[] {
  const flags = [`--namespace=${assertNamespace(o.namespace)}`, '--output=json'];
  if (o.max !== undefined) flags.push(`--max=${revisionArg(o.max, 'max')}`);
  return ['history', ...flags, '--', assertReleaseName(o.releaseName)];
}

export interface RollbackArgs extends ReleaseRef {
  /** Omitted or 0: the previous revision. */
  revision?: number;
  timeoutSeconds: number;
  wait?: WaitStrategy;
}

export function rollbackArgs(o: RollbackArgs): string[] {
  const flags = [`--namespace=${assertNamespace(o.namespace)}`, timeoutFlag(o.timeoutSeconds)];
  if (o.wait) flags.push(`--wait=${waitStrategy(o.wait)}`);
  const positionals = [assertReleaseName(o.releaseName)];
  if (o.revision !== undefined && o.revision !== 0) positionals.push(revisionArg(o.revision));
  return ['rollback', ...flags, '--', ...positionals];
}

export function getValuesArgs(o: ReleaseRef & { revision?: number; all?: boolean }): string[] {
  const flags = [`--namespace=${assertNamespace(o.namespace)}`, '--output=json'];
  if (o.all) flags.push('--all');
  if (o.revision !== undefined) flags.push(`--revision=${revisionArg(o.revision)}`);
  return ['get', 'values', ...flags, '--', assertReleaseName(o.releaseName)];
}

export function getMetadataArgs(o: ReleaseRef & { revision?: number }): string[] {
  const flags = [`--namespace=${assertNamespace(o.namespace)}`, '--output=json'];
  if (o.revision !== undefined) flags.push(`--revision=${revisionArg(o.revision)}`);
  return ['get', 'metadata', ...flags, '--', assertReleaseName(o.releaseName)];
}

export function getManifestArgs(o: ReleaseRef & { revision?: number }): string[] {
  const flags = [`--namespace=${assertNamespace(o.namespace)}`];
  if (o.revision !== undefined) flags.push(`--revision=${revisionArg(o.revision)}`);
  return ['get', 'manifest', ...flags, '--', assertReleaseName(o.releaseName)];
}

export interface RepoAddArgs {
  name: string;
  url: string;
  /** With a username the password is read from stdin (--password-stdin), never from argv. */
  username?: string;
  timeoutSeconds?: number;
}

export function repoAddArgs(o: RepoAddArgs): string[] {
  const flags = ['--force-update'];
  if (o.timeoutSeconds !== undefined) flags.push(timeoutFlag(o.timeoutSeconds));
  if (o.username !== undefined) {
    if (o.username.length === 0 || /[\u0000-\u001f]/.test(o.username)) {
      throw new FunctionError('INVALID_INPUT', 'Invalid repository username');
    }
    flags.push(`--username=${o.username}`, '--password-stdin');
  }
  return ['repo', 'add', ...flags, '--', assertRepoName(o.name), assertRepoUrl(o.url, 'url')];
}

export function repoUpdateArgs(o: { names: string[]; timeoutSeconds?: number }): string[] {
  const flags: string[] = [];
  if (o.timeoutSeconds !== undefined) flags.push(timeoutFlag(o.timeoutSeconds));
  return ['repo', 'update', ...flags, '--', ...o.names.map((n) => assertRepoName(n))];
}
