// Runs helm: argv array (never a shell), a minimal environment, success decided by the exit code
// (helm 4 prints warnings on stderr), cancellation by SIGTERM so helm can mark the release failed.
import { execa } from 'execa';
import type { Logger } from 'pino';
import type { RuntimeConfig } from '../config.js';
import { FunctionError } from '../errors.js';
import { resolveHelmBinary } from './binary.js';
import { mapHelmError } from './errors.js';
import { helmHome } from './home.js';

export interface RunHelmOptions {
  args: readonly string[];
  config: RuntimeConfig;
  /** Aborting sends SIGTERM; SIGKILL follows only if helm ignores it for killGraceMs. */
  signal?: AbortSignal;
  /** helm's own --timeout for this run; the process is stopped a little after it. */
  timeoutSeconds?: number;
  /** Written to helm's stdin (e.g. --password-stdin). */
  input?: string;
  /** Strings blanked out of any error text (passwords). */
  secrets?: readonly string[];
  /** Chart reference of the run, used to classify "not found" errors. */
  chartRef?: string;
  log?: Logger;
  /** Overrides the hard limit (default: timeoutSeconds + HARD_TIMEOUT_MARGIN_MS). */
  hardTimeoutMs?: number;
  /** Overrides KILL_GRACE_MS. */
  killGraceMs?: number;
}

export interface HelmOutput {
  stdout: string;
  stderr: string;
}

/** Extra time past helm's own --timeout before the process is stopped (chart download, cleanup). */
export const HARD_TIMEOUT_MARGIN_MS = 15_000;
/** Time helm gets after SIGTERM to record a failed release before SIGKILL. */
export const KILL_GRACE_MS = 10_000;

// Variables helm may legitimately need from the function's environment: PATH for kubeconfig exec
// credential plugins, the in-cluster API address, proxies and CA bundles. Everything else (HELM_*,
// KUBECONFIG of the parent, secrets in env) stays out.
const PASSTHROUGH = [
  'PATH',
  'KUBERNETES_SERVICE_HOST',
  'KUBERNETES_SERVICE_PORT',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
];

let spawned = 0;

/** How many helm processes this module started (tests of hostile input assert it stays unchanged). */
export function helmSpawnCount(): number {
  return spawned;
}

export function helmEnv(config: Pick<RuntimeConfig, 'kubeconfig'>, parent: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const home = helmHome();
  const env: Record<string, string> = {};
  for (const name of PASSTHROUGH) {
    const value = parent[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, {
    HOME: home.root,
    TMPDIR: home.tmp,
    HELM_CACHE_HOME: home.cache,
    HELM_CONFIG_HOME: home.config,
    HELM_DATA_HOME: home.data,
  });
  if (config.kubeconfig) env.KUBECONFIG = config.kubeconfig;
  return env;
}

export async function runHelm(options: RunHelmOptions): Promise<HelmOutput> {
  const { args, config, signal, input, secrets, chartRef, log } = options;
  if (signal?.aborted) throw new FunctionError('CANCELLED');
  const timeoutSeconds = options.timeoutSeconds ?? config.helmTimeoutSeconds;
  const started = Date.now();
  spawned += 1;
  const result = await execa(resolveHelmBinary(config), args, {
    env: helmEnv(config),
    extendEnv: false,
    cwd: helmHome().work,
    input: input ?? '',
    cancelSignal: signal,
    timeout: options.hardTimeoutMs ?? timeoutSeconds * 1000 + HARD_TIMEOUT_MARGIN_MS,
    killSignal: 'SIGTERM',
    forceKillAfterDelay: options.killGraceMs ?? KILL_GRACE_MS,
    reject: false,
    stripFinalNewline: false,
    maxBuffer: 64 * 1024 * 1024,
  });
  log?.debug({ helm: args[0], exitCode: result.exitCode, ms: Date.now() - started }, 'helm finished');
  // helm may finish its work after SIGTERM arrived: the exit code says what happened.
  if (result.exitCode === 0) return { stdout: String(result.stdout), stderr: String(result.stderr) };
  if (result.isCanceled) throw new FunctionError('CANCELLED', 'The helm operation was cancelled');
  if (result.timedOut) throw new FunctionError('TIMEOUT', 'helm did not finish in time', { timeoutSeconds });
  if (result.exitCode === undefined) {
    // Never started (missing binary) or killed by a signal from outside.
    const reason = result.signal ? `helm was terminated by ${result.signal}` : 'helm could not be started';
    throw new FunctionError('HELM_FAILED', reason);
  }
  throw mapHelmError({ stderr: String(result.stderr), exitCode: result.exitCode, chartRef, secrets });
}

/** helm may print lines (e.g. "Pulled:", "Digest:") before its JSON document: parse from the first `{` or `[` line. */
export function parseJsonOutput<T>(stdout: string): T {
  const trimmed = stdout.trim();
  try {
    return JSON.parse(trimmed) as T;
  } catch {
    const lines = trimmed.split('\n');
    for (let i = 0; i < lines.length; i += 1) {
      const first = lines[i].trimStart()[0];
      if (first !== '{' && first !== '[') continue;
      try {
        return JSON.parse(lines.slice(i).join('\n')) as T;
      } catch {
        // keep looking: the JSON document may start further down
      }
    }
  }
  throw new FunctionError('HELM_FAILED', 'helm printed no JSON document');
}
