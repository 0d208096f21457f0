// The auth secret for local runs: a random bearer token written where the runtime reads OpenFaaS
// secrets (SECRETS_DIR/<AUTH_SECRET_NAME>), like `faas-cli secret create helm-deployer-token`.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const DEFAULT_SECRET_NAME = 'helm-deployer-token';

export interface AuthToken {
  token: string;
  secretsDir: string;
  secretName: string;
  /** Environment the runtime needs to find the secret. */
  env: { SECRETS_DIR: string; AUTH_SECRET_NAME: string };
  cleanup(): void;
}

export function setupAuthToken({ token = randomBytes(24).toString('hex'), secretName = DEFAULT_SECRET_NAME } = {}): AuthToken {
  const secretsDir = mkdtempSync(path.join(os.tmpdir(), 'helm-deployer-secrets-'));
  writeFileSync(path.join(secretsDir, secretName), `${token}\n`, { mode: 0o600 });
  return {
    token,
    secretsDir,
    secretName,
    env: { SECRETS_DIR: secretsDir, AUTH_SECRET_NAME: secretName },
    cleanup: () => rmSync(secretsDir, { recursive: true, force: true }),
  };
}
