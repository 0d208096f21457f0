/** The kubeconfig that points helm, kubectl and client-node at the emulator. */
import { chmod, writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';

export const contextName = 'emulator';

/**
 * Plain-HTTP cluster, a bearer-token user (the emulator takes the token as the user name), current-context set.
 * `insecure-skip-tls-verify` is there because client-node refuses an http:// server without it.
 */
export function kubeconfigYaml(options: { server: string; token?: string; namespace?: string }): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [{ name: contextName, cluster: { server: options.server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: contextName, user: { token: options.token ?? 'emulator' } }],
    contexts: [{ name: contextName, context: { cluster: contextName, user: contextName, namespace: options.namespace ?? 'default' } }],
    'current-context': contextName,
  });
}

/** Writes it readable by the owner only (helm warns about group- or world-readable kubeconfigs). */
export async function writeKubeconfig(path: string, options: { server: string; token?: string }): Promise<void> {
  await writeFile(path, kubeconfigYaml(options), { mode: 0o600 });
  await chmod(path, 0o600);
}
