// An executable stand-in for helm, for what the real binary cannot show: its argv, stdin and
// environment, and how it is stopped. The script body is JavaScript run by this node binary.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function fakeHelm(body: string): { path: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'fake-helm-'));
  const path = join(dir, 'helm');
  writeFileSync(path, `#!${process.execPath}\nconst fs = require('node:fs');\n${body}\n`);
  chmodSync(path, 0o755);
  return { path, dir };
}
