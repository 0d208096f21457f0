// Kubeconfigs for an emulated cluster, one per identity: the emulator takes the bearer token as the
// user name, so a token `system:serviceaccount:<ns>:<name>` makes every request of a function
// arrive as that ServiceAccount (what its `authorize` hook then judges).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kubeconfigYaml } from './cluster/kubeconfig.js';

export function serviceAccountUser(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

export function kubeconfigFor({ server, token, namespace = 'default' }: { server: string; token: string; namespace?: string }): string {
  return kubeconfigYaml({ server, token, namespace });
}

export interface KubeconfigSet {
  /** Path of the kubeconfig of each token, in the order given. */
  paths: Record<string, string>;
  dir: string;
  cleanup(): void;
}

/**
 * Writes one kubeconfig per token into a new temp dir (mode 0600: helm warns otherwise). `server`
 * is one URL for all, or a function giving each token its own (e.g. a proxy per identity).
 */
export function writeKubeconfigs(server: string | ((token: string) => string), tokens: string[]): KubeconfigSet {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'helm-deployer-kubeconfig-'));
  const paths: Record<string, string> = {};
  tokens.forEach((token, i) => {
    const file = path.join(dir, `kubeconfig-${i}`);
    writeFileSync(file, kubeconfigFor({ server: typeof server === 'string' ? server : server(token), token }), { mode: 0o600 });
    paths[token] = file;
  });
  return { paths, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
