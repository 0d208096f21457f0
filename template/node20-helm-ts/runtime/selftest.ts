// A check the image build runs against the real handler: it must load, the runtime must answer
// health, refuse a call without a token and answer JSON to one with a token.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { startFunctionServer } from './server.js';
import type { FunctionHandler } from './types.js';

export interface SelfTestOptions {
  handler: FunctionHandler;
  functionName: string;
  env?: NodeJS.ProcessEnv;
}

function expect(ok: boolean, message: string): void {
  if (!ok) throw new Error(`selftest: ${message}`);
}

export async function selfTest({ handler, functionName, env = process.env }: SelfTestOptions): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'selftest-'));
  const token = randomBytes(24).toString('hex');
  await writeFile(path.join(dir, 'token'), `${token}\n`);
  const config = { ...loadConfig(env), secretsDir: dir, authSecretName: 'token' };
  const server = await startFunctionServer({
    handler,
    functionName,
    config,
    logger: createLogger({ name: functionName, level: 'silent' }),
    port: 0,
  });
  const call = (p: string, init: RequestInit = {}) => fetch(`${server.url}${p}`, { ...init, signal: AbortSignal.timeout(10_000) });
  try {
    const health = await call('/_/health');
    expect(health.status === 200 && (await health.text()) === '{"status":"ok"}', `health answered ${health.status}`);

    const anonymous = await call('/_/selftest', { method: 'POST', body: '{}' });
    const anonymousBody = await anonymous.text();
    expect(
      anonymous.status === 401 && anonymousBody === '{"error":{"code":"UNAUTHORIZED","message":"Unauthorized"}}',
      `a call without a token answered ${anonymous.status} ${anonymousBody}`,
    );

    const authorised = await call('/_/selftest', { headers: { authorization: `Bearer ${token}` } });
    const text = await authorised.text();
    expect(authorised.status !== 401, 'a call with the token was refused');
    expect(authorised.headers.get('content-type') === 'application/json', 'the answer is not application/json');
    try {
      JSON.parse(text);
    } catch {
      throw new Error(`selftest: the answer is not JSON: ${text.slice(0, 200)}`);
    }
  } finally {
    await server.close({ graceMs: 0, forceMs: 0 });
    await rm(dir, { recursive: true, force: true });
  }
}
