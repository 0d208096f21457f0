import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { loadConfig } from '#runtime/config.js';
import { FunctionError } from '#runtime/errors.js';
import { helmSpawnCount, parseJsonOutput, runHelm } from '#runtime/helm/run.js';
import { fakeHelm } from './fake-helm.js';

// Records what it was given next to itself, then behaves as the FAKE_MODE file says.
const recorder = fakeHelm(`
const dir = require('node:path').dirname(process.argv[1]);
let input = '';
try { input = fs.readFileSync(0, 'utf8'); } catch {}
fs.writeFileSync(dir + '/call.json', JSON.stringify({ argv: process.argv.slice(2), env: process.env, cwd: process.cwd(), input }));
const mode = fs.existsSync(dir + '/mode') ? fs.readFileSync(dir + '/mode', 'utf8') : 'ok';
if (mode === 'ok') { process.stderr.write('level=WARN msg="deprecated"\\nWARNING: something\\n'); process.stdout.write('{"ok":true}\\n'); }
if (mode === 'exists') { process.stderr.write('Error: INSTALLATION FAILED: cannot re-use a name that is still in use\\n'); process.exit(1); }
if (mode === 'echo-stdin') { process.stderr.write('Error: failed with ' + input + ' at https://bob:' + input.trim() + '@charts.example.com/x\\n'); process.exit(1); }
`);
const call = () => JSON.parse(readFileSync(join(recorder.dir, 'call.json'), 'utf8')) as { argv: string[]; env: Record<string, string>; cwd: string; input: string };
const setMode = async (mode: string) => (await import('node:fs/promises')).writeFile(join(recorder.dir, 'mode'), mode);

// Stays alive; on SIGTERM writes which signal it got and exits (as helm does after marking the release failed).
const sleeper = fakeHelm(`
const dir = require('node:path').dirname(process.argv[1]);
process.on('SIGTERM', () => { fs.writeFileSync(dir + '/signal', 'SIGTERM'); process.exit(143); });
fs.writeFileSync(dir + '/started', '1');
setInterval(() => {}, 1000);
`);
// Ignores SIGTERM altogether.
const stubborn = fakeHelm(`
const dir = require('node:path').dirname(process.argv[1]);
process.on('SIGTERM', () => { fs.writeFileSync(dir + '/signal', 'SIGTERM'); });
fs.writeFileSync(dir + '/started', '1');
setInterval(() => {}, 1000);
`);

const config = (helmBinary: string, env: Record<string, string> = {}) => loadConfig({ HELM_BINARY: helmBinary, ...env });

const until = (check: () => boolean) => vi.waitUntil(check, { timeout: 5000, interval: 10 });

describe('runHelm', () => {
  test('argv as given, a minimal environment, an empty working directory', async () => {
    for (const name of ['SSL_CERT_FILE', 'SSL_CERT_DIR', 'HTTP_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy']) delete process.env[name];
    for (const name of ['KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT']) delete process.env[name];
    process.env.SOME_SECRET = 'do-not-pass';
    process.env.HELM_NAMESPACE = 'kube-system';
    process.env.KUBECONFIG = '/parent/kubeconfig';
    process.env.HTTPS_PROXY = 'http://proxy.local:3128';
    await setMode('ok');
    const out = await runHelm({ args: ['status', '--namespace=a', '--', 'x y'], config: config(recorder.path, { KUBECONFIG: '/k/config' }) });
    expect(out.stdout).toBe('{"ok":true}\n');
    const c = call();
    expect(c.argv).toEqual(['status', '--namespace=a', '--', 'x y']);
    expect(Object.keys(c.env).sort()).toEqual(['HELM_CACHE_HOME', 'HELM_CONFIG_HOME', 'HELM_DATA_HOME', 'HOME', 'HTTPS_PROXY', 'KUBECONFIG', 'PATH', 'TMPDIR'].sort());
    expect(c.env.KUBECONFIG).toBe('/k/config');
    expect(c.env.HTTPS_PROXY).toBe('http://proxy.local:3128');
    for (const dir of ['HELM_CACHE_HOME', 'HELM_CONFIG_HOME', 'HELM_DATA_HOME', 'TMPDIR']) {
      expect(c.env[dir].startsWith(c.env.HOME)).toBe(true);
      expect(existsSync(c.env[dir])).toBe(true);
    }
    expect(c.cwd.startsWith(c.env.HOME)).toBe(true);
    expect(c.input).toBe('');
  });

  test('without a kubeconfig in the config, helm gets none (in-cluster config)', async () => {
    await setMode('ok');
    await runHelm({ args: ['list'], config: config(recorder.path) });
    expect(call().env.KUBECONFIG).toBeUndefined();
  });

  test('success is the exit code: warnings on stderr do not fail a run', async () => {
    await setMode('ok');
    const out = await runHelm({ args: ['list'], config: config(recorder.path) });
    expect(out.stderr).toContain('WARNING: something');
  });

  test('a failing run is mapped to a FunctionError', async () => {
    await setMode('exists');
    const err = await runHelm({ args: ['install'], config: config(recorder.path) }).catch((e) => e);
    expect(err).toBeInstanceOf(FunctionError);
    expect(err.toJSON()).toEqual({
      error: {
        code: 'RELEASE_EXISTS',
        message: 'Release already exists',
        details: { helm: 'INSTALLATION FAILED: cannot re-use a name that is still in use', exitCode: 1 },
      },
    });
  });

  test('stdin carries input; secrets and URL credentials never reach the error', async () => {
    await setMode('echo-stdin');
    const err = await runHelm({ args: ['repo', 'add'], input: 's3cret-pw\n', secrets: ['s3cret-pw'], config: config(recorder.path) }).catch((e) => e);
    expect(call().input).toBe('s3cret-pw\n');
    expect(JSON.stringify(err.toJSON())).not.toContain('s3cret-pw');
    expect(err.details.helm).toBe('failed with ***\n at https://***@charts.example.com/x');
  });

  test('every run is counted', async () => {
    await setMode('ok');
    const before = helmSpawnCount();
    await runHelm({ args: ['list'], config: config(recorder.path) });
    await runHelm({ args: ['list'], config: config(recorder.path) });
    expect(helmSpawnCount()).toBe(before + 2);
  });

  test('an already aborted signal starts nothing', async () => {
    const before = helmSpawnCount();
    await expect(runHelm({ args: ['list'], config: config(recorder.path), signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(helmSpawnCount()).toBe(before);
  });

  test('cancelling sends SIGTERM and answers CANCELLED', async () => {
    const controller = new AbortController();
    const running = runHelm({ args: ['install'], config: config(sleeper.path), signal: controller.signal }).catch((e) => e);
    await until(() => existsSync(join(sleeper.dir, 'started')));
    controller.abort();
    const err = await running;
    expect(err).toMatchObject({ code: 'CANCELLED', status: 503 });
    expect(readFileSync(join(sleeper.dir, 'signal'), 'utf8')).toBe('SIGTERM');
  });

  test('past the hard timeout helm gets SIGTERM, and SIGKILL only when it ignores that', async () => {
    const started = Date.now();
    const err = await runHelm({ args: ['install'], config: config(stubborn.path), hardTimeoutMs: 300, killGraceMs: 300 }).catch((e) => e);
    expect(err).toMatchObject({ code: 'TIMEOUT', status: 504 });
    expect(readFileSync(join(stubborn.dir, 'signal'), 'utf8')).toBe('SIGTERM');
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
  });

  test('a missing binary is HELM_FAILED', async () => {
    await expect(runHelm({ args: ['list'], config: config('/nonexistent/helm') })).rejects.toMatchObject({
      code: 'HELM_FAILED',
      message: 'helm could not be started',
    });
  });
});

describe('parseJsonOutput', () => {
  test('plain JSON', () => {
    expect(parseJsonOutput('[{"a":1}]\n')).toEqual([{ a: 1 }]);
  });

  test('lines before the JSON document are skipped (OCI pulls print Pulled:/Digest:)', () => {
    expect(parseJsonOutput('Pulled: registry/app:1.0.0\nDigest: sha256:abc\n{"name":"x",\n"version":1}\n')).toEqual({ name: 'x', version: 1 });
  });

  test('no JSON at all is HELM_FAILED', () => {
    expect(() => parseJsonOutput('Release "x" has been upgraded.')).toThrow(FunctionError);
  });
});
