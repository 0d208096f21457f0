// helm writes its cache, config and data under three home directories. Each process gets its own set
// under the OS temp dir: the function runs with a read-only root filesystem and as a non-root user,
// and no two processes (or test files) share repositories.yaml or an index cache.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface HelmHome {
  root: string;
  cache: string;
  config: string;
  data: string;
  /** An empty working directory: helm resolves a chart name that exists as a path relative to it. */
  work: string;
  /** Temporary files (values files) live here, readable only by this user. */
  tmp: string;
}

let home: HelmHome | undefined;

export function helmHome(): HelmHome {
  if (home) return home;
  const root = mkdtempSync(join(tmpdir(), 'helm-home-'));
  const dirs = {
    root,
    cache: join(root, 'cache'),
    config: join(root, 'config'),
    data: join(root, 'data'),
    work: join(root, 'work'),
    tmp: join(root, 'tmp'),
  };
  for (const dir of [dirs.cache, dirs.config, dirs.data, dirs.work, dirs.tmp]) mkdirSync(dir, { mode: 0o700 });
  process.once('exit', () => rmSync(root, { recursive: true, force: true }));
  home = dirs;
  return home;
}
