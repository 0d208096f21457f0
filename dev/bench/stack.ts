// The stack every HTTP benchmark runs against: `npm start`'s dev stack (emulated cluster with an
// ingress-nginx controller, local chart repository, the functions behind the local gateway), quiet,
// plus the helm the functions use, run directly for comparison.
import { execa } from 'execa';
import { loadConfig, type RuntimeConfig } from '#runtime/config.js';
import { resolveHelmBinary } from '#runtime/helm/binary.js';
import { helmHome } from '#runtime/helm/home.js';
import { helmEnv } from '#runtime/helm/run.js';
import type { Cluster } from '../cluster/index.js';
import { startDevStack, type DevStack } from '../dev-stack.js';

/** Wide enough for 10,000 rules. */
export const PORT_RANGE = '20000-40000';

export interface BenchStack {
  stack: DevStack;
  cluster: Cluster;
  /** The configuration the functions run with. */
  config: RuntimeConfig;
  /** Calls a function through the gateway; throws unless the status is 2xx. */
  call<T = unknown>(fn: string, path: string, body?: unknown, method?: 'GET' | 'POST'): Promise<T>;
  /** Runs the functions' helm binary directly, in the functions' helm environment (same home, same kubeconfig). */
  helm(args: string[]): Promise<string>;
  close(): Promise<void>;
}

export async function startBenchStack(): Promise<BenchStack> {
  const env = { ...process.env, USE_EMBEDDED_CLUSTER: '1', LOG_LEVEL: 'silent', PORT_RANGE };
  const stack = await startDevStack({ env });
  const cluster = stack.cluster!;
  const config: RuntimeConfig = { ...loadConfig(env), kubeconfig: stack.kubeconfig };
  const binary = resolveHelmBinary(config);
  return {
    stack,
    cluster,
    config,
    async call<T>(fn: string, path: string, body?: unknown, method: 'GET' | 'POST' = 'POST'): Promise<T> {
      const res = await fetch(`${stack.gateway.url}/function/${fn}${path}`, {
        method,
        headers: { authorization: `Bearer ${stack.auth.token}`, 'content-type': 'application/json' },
        body: method === 'POST' ? JSON.stringify(body ?? {}) : undefined,
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${fn}${path} answered ${res.status}: ${text}`);
      return JSON.parse(text) as T;
    },
    async helm(args: string[]): Promise<string> {
      const { stdout } = await execa(binary, args, { env: helmEnv(config), extendEnv: false, cwd: helmHome().work });
      return String(stdout);
    },
    close: () => stack.close(),
  };
}
