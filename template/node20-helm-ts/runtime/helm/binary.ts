// Which helm executable to run: an explicit HELM_BINARY, else the copy a dev checkout unpacks into
// <repo root>/.tools/bin (npm postinstall), else `helm` from PATH (the function image).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RuntimeConfig } from '../config.js';

// runtime/helm/binary.ts -> template/node20-helm-ts/runtime/helm -> repo root is four levels up.
const devCopy = fileURLToPath(new URL('../../../../.tools/bin/helm', import.meta.url));

export function resolveHelmBinary(config: Pick<RuntimeConfig, 'helmBinary'>, devPath: string = devCopy): string {
  if (config.helmBinary) return config.helmBinary;
  if (existsSync(devPath)) return devPath;
  return 'helm';
}
