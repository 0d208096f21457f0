// What `faas-cli build` + the Dockerfile's build stage do, without Docker: the template files the
// Dockerfile copies plus a function folder as ./function, compiled with `npm run build`, checked
// with `npm test` (the selftest), then served by plain `node index.js`.
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const templateDir = path.join(root, 'template/node20-helm-ts');

/** The template files the Dockerfile's build stage copies (the function folder aside). */
async function copiedTemplateFiles(): Promise<string[]> {
  const dockerfile = await readFile(path.join(templateDir, 'Dockerfile'), 'utf8');
  const build = dockerfile.slice(dockerfile.indexOf('AS build'), dockerfile.indexOf('AS ship'));
  return [...build.matchAll(/^COPY (?!--)(.+) \S+$/gm)].flatMap((m) => m[1].split(/\s+/)).filter((s) => s !== 'function/');
}

async function layout(dir: string, functionDirs: Record<string, string>): Promise<void> {
  for (const source of await copiedTemplateFiles()) {
    await cp(path.join(templateDir, source), path.join(dir, source), { recursive: true });
  }
  for (const [target, source] of Object.entries(functionDirs)) await cp(source, path.join(dir, target), { recursive: true });
  // The image installs the same locked versions (checked in template-files.test.ts).
  await symlink(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'build-layout-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const functionsDir = path.join(root, 'functions');
const repoFunctions = existsSync(functionsDir)
  ? (await readdir(functionsDir)).filter((n) => existsSync(path.join(functionsDir, n, 'handler.ts')))
  : [];

describe('a function built from the template', () => {
  let app: string;
  const env = { PATH: process.env.PATH, AUTH_SECRET_NAME: 'token' };

  beforeAll(async () => {
    const fixture = path.join(work, 'fixture-fn');
    await mkdir(fixture);
    await writeFile(path.join(fixture, 'schema.json'), '{"title":"fixture schema"}\n');
    await writeFile(
      path.join(fixture, 'handler.ts'),
      `import { readFileSync } from 'node:fs';
import { FunctionError } from '#runtime/errors.js';
import { isReleaseName } from '#runtime/names.js';
import type { FunctionHandler } from '#runtime/types.js';

const schema = JSON.parse(readFileSync(new URL('./schema.json', import.meta.url), 'utf8')) as { title: string };

const handler: FunctionHandler = async (req) => {
  if (req.path !== '/check') throw new FunctionError('NOT_FOUND');
  const name = (req.body as { name?: unknown } | undefined)?.name;
  return { body: { schema: schema.title, valid: isReleaseName(name) } };
};
export default handler;
`,
    );
    await writeFile(path.join(fixture, 'not-a-handler.ts'), 'export const answer = 42;\n');
    // The repository's functions ride along under ./function/repo/<name> so that one compile
    // covers them all; they only import `#runtime/...` and files next to them, so depth is irrelevant.
    for (const name of repoFunctions) {
      await cp(path.join(functionsDir, name), path.join(fixture, 'repo', name), { recursive: true });
    }
    app = path.join(work, 'app');
    await mkdir(app);
    await layout(app, { function: fixture });
    await execa('npm', ['run', 'build'], { cwd: app, env, extendEnv: false });
  });

  test('compiles next to its assets', () => {
    for (const file of ['index.js', 'selftest.js', 'runtime/server.js', 'function/handler.js', 'function/schema.json']) {
      expect(existsSync(path.join(app, file)), file).toBe(true);
    }
  });

  test('passes the build-time selftest', async () => {
    const { stdout } = await execa('npm', ['test', '--silent'], { cwd: app, env, extendEnv: false });
    expect(stdout.trim()).toBe(`selftest passed: ${path.join(app, 'function/handler.js')}`);
  });

  test('fails the selftest (and so the image build) when the handler cannot be loaded', async () => {
    const result = await execa('node', ['selftest.js'], {
      cwd: app,
      env: { ...env, FUNCTION_HANDLER: 'function/not-a-handler.js' },
      extendEnv: false,
      reject: false,
    });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('must export a handler function as its default export');
  });

  test('is served by `node index.js` without any TypeScript loader', async () => {
    const secrets = path.join(work, 'secrets');
    await mkdir(secrets, { recursive: true });
    await writeFile(path.join(secrets, 'token'), 'layout-token');
    const child = execa('node', ['index.js'], {
      cwd: app,
      env: { ...env, SECRETS_DIR: secrets, http_port: '0', SHUTDOWN_GRACE_MS: '0' },
      extendEnv: false,
      reject: false,
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          out += chunk;
          const m = /"url":"(http:[^"]+)"/.exec(out);
          if (m) resolve(m[1]);
        });
        child.then((r) => reject(new Error(`exited: ${r.stdout} ${r.stderr}`)));
      });
      const res = await fetch(`${url}/check`, { method: 'POST', headers: { authorization: 'Bearer layout-token' }, body: '{"name":"web-1"}' });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ schema: 'fixture schema', valid: true });
      child.kill('SIGTERM');
      expect((await child).exitCode).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  test.concurrent.for(repoFunctions)('the repository function %s passes the build-time selftest', async (name, { expect }) => {
    const result = await execa('node', ['selftest.js'], {
      cwd: app,
      env: { PATH: process.env.PATH, FUNCTION_HANDLER: `function/repo/${name}/handler.js`, FUNCTION_NAME: name },
      extendEnv: false,
      reject: false,
    });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });
});
