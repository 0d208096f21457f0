// Cold start of one function process as the image runs it: the files the Dockerfile's build stage
// copies plus functions/<name> as ./function, compiled in place with the template's tsconfig (as
// `npm run build` does in the image), then `node index.js` with NODE_ENV=production. Timed from
// spawn to the first answer of GET /_/health, which the runtime serves only after the handler
// module (and everything it imports) has loaded.
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { median, timed } from './stats.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TEMPLATE = path.join(ROOT, 'template/node20-helm-ts');

export interface ColdStartOutcome {
  fn: string;
  compileMs: number;
  /** Spawn to first health answer, ms, per run. */
  runs: number[];
  median: number;
}

/** The template files the Dockerfile's build stage copies (the function folder aside). */
async function copiedTemplateFiles(): Promise<string[]> {
  const dockerfile = await readFile(path.join(TEMPLATE, 'Dockerfile'), 'utf8');
  const build = dockerfile.slice(dockerfile.indexOf('AS build'), dockerfile.indexOf('AS ship'));
  return [...build.matchAll(/^COPY (?!--)(.+) \S+$/gm)].flatMap((m) => m[1].split(/\s+/)).filter((s) => s !== 'function/');
}

async function build(fn: string, dir: string): Promise<void> {
  for (const file of await copiedTemplateFiles()) await cp(path.join(TEMPLATE, file), path.join(dir, file), { recursive: true });
  await cp(path.join(ROOT, 'functions', fn), path.join(dir, 'function'), { recursive: true });
  // The image installs the same locked versions.
  await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  await execa(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: dir });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function startOnce(dir: string, env: NodeJS.ProcessEnv): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, ['index.js'], { cwd: dir, env: { ...env, http_port: String(port) }, stdio: 'ignore' });
  let exited = false;
  child.once('exit', () => (exited = true));
  try {
    for (;;) {
      if (exited) throw new Error('the function process exited before answering');
      if (performance.now() - started > 20_000) throw new Error('the function process did not answer within 20 s');
      try {
        const res = await fetch(`http://127.0.0.1:${port}/_/health`);
        await res.arrayBuffer();
        if (res.ok) return performance.now() - started;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  } finally {
    child.kill('SIGKILL');
    if (!exited) await new Promise((resolve) => child.once('exit', resolve));
  }
}

export async function benchColdStart(fn: string, runs: number): Promise<ColdStartOutcome> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'bench-cold-start-'));
  try {
    const dir = path.join(work, 'app');
    await mkdir(dir);
    const compile = await timed(() => build(fn, dir));
    await mkdir(path.join(work, 'secrets'));
    await writeFile(path.join(work, 'secrets', 'helm-deployer-token'), 'bench-token');
    const env = { PATH: process.env.PATH, NODE_ENV: 'production', SECRETS_DIR: path.join(work, 'secrets'), LOG_LEVEL: 'silent' };
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push(await startOnce(dir, env));
    return { fn, compileMs: compile.ms, runs: times, median: median(times) };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
