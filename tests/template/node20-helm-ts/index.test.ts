// The entrypoint as of-watchdog runs it: a separate node process, the handler found from the
// environment, JSON logs on stdout, graceful exit on SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const entry = path.join(root, 'template/node20-helm-ts/index.ts');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'entry-'));
  await writeFile(path.join(dir, 'token'), 'entry-token\n');
  await writeFile(
    path.join(dir, 'handler.mjs'),
    `export default async (req, ctx) => {
      if (req.path === '/wait') {
        console.log(JSON.stringify({ msg: 'fixture waiting' }));
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
        return { status: 503, body: { cancelled: true } };
      }
      return { body: { path: req.path, body: req.body } };
    };\n`,
  );
  await writeFile(path.join(dir, 'no-default.mjs'), 'export const notAHandler = 1;\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Running {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  exited: Promise<number | null>;
  waitFor(msg: string, where?: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
}

function run(env: Record<string, string>): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: root,
    env: { PATH: process.env.PATH, SECRETS_DIR: dir, AUTH_SECRET_NAME: 'token', http_port: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Record<string, unknown>[] = [];
  type Line = Record<string, unknown>;
  const waiters: { match: (l: Line) => boolean; resolve: (l: Line) => void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (text) => {
    const line = JSON.parse(text) as Record<string, unknown>;
    lines.push(line);
    for (const w of waiters.filter((w) => w.match(line))) w.resolve(line);
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    waitFor: (msg, where = () => true) =>
      new Promise((resolve, reject) => {
        const match = (l: Line) => l.msg === msg && where(l);
        const found = lines.find(match);
        if (found) return resolve(found);
        waiters.push({ match, resolve });
        exited.then(() => reject(new Error(`exited before logging "${msg}": ${JSON.stringify(lines)}`)));
      }),
  };
}

describe('index.ts', () => {
  test('serves the handler named by FUNCTION_HANDLER and exits 0 on SIGTERM after cancelling calls', async () => {
    const proc = run({ FUNCTION_HANDLER: path.join(dir, 'handler.mjs'), SHUTDOWN_GRACE_MS: '50' });
    try {
      const { url, fn } = (await proc.waitFor('function runtime listening')) as { url: string; fn: string };
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(fn).toBe(path.basename(dir));

      const denied = await fetch(`${url}/install`, { method: 'POST', body: '{}' });
      expect(denied.status).toBe(401);
      const res = await fetch(`${url}/install`, {
        method: 'POST',
        headers: { authorization: 'Bearer entry-token', 'x-call-id': 'entry-1' },
        body: '{"chart":"web"}',
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ path: '/install', body: { chart: 'web' } });
      expect(await proc.waitFor('call completed', (l) => l.reqId === 'entry-1')).toMatchObject({ status: 200, path: '/install' });

      const pending = fetch(`${url}/wait`, { headers: { authorization: 'Bearer entry-token' } });
      await proc.waitFor('fixture waiting');
      proc.child.kill('SIGTERM');
      const cancelled = await pending;
      expect(cancelled.status).toBe(503);
      expect(await cancelled.json()).toEqual({ cancelled: true });
      expect(await proc.exited).toBe(0);
      expect(proc.lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['shutting down', 'shut down']));
    } finally {
      proc.child.kill('SIGKILL');
    }
  });

  test('exits 1 with a fatal log when the module has no handler', async () => {
    const proc = run({ FUNCTION_HANDLER: path.join(dir, 'no-default.mjs') });
    expect(await proc.exited).toBe(1);
    expect(proc.lines).toHaveLength(1);
    expect(proc.lines[0]).toMatchObject({ level: 60, msg: 'function runtime failed to start' });
    expect((proc.lines[0].err as { message: string }).message).toContain('must export a handler function');
  });
});
