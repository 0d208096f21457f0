import http from 'node:http';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { startFunctionServer } from '#runtime/server.js';
import { installSignalHandlers } from '#runtime/shutdown.js';
import type { FunctionContext } from '#runtime/types.js';
import { captureLogs } from '../log-capture.js';

const config = {
  exposureBackend: 'ingress-nginx' as const,
  gatewayRouteNamespace: 'service' as const,
  loadBalancerNamespace: 'ingress-nginx',
  ingressLabel: 'ingress-nginx',
  tcpServicesConfigMap: 'tcp-services',
  udpServicesConfigMap: 'udp-services',
  portRange: { from: 30000, to: 30010 },
  gatewayUrl: 'http://127.0.0.1:1',
  secretsDir: '/nonexistent',
  authSecretName: '',
  maxBodyBytes: 1024,
  helmTimeoutSeconds: 10,
  createNamespace: true,
  policy: { repoPrefixes: [], chartNames: [], namespaces: [], allowPrivateRepoHosts: false },
};

const until = (check: () => boolean) => vi.waitUntil(check, { timeout: 5000, interval: 5 });

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

describe('installSignalHandlers', () => {
  test('on the signal, cancels calls after the grace period, then exits 0 once drained', async () => {
    const logs = captureLogs();
    const seen: FunctionContext[] = [];
    const server = await startFunctionServer({
      functionName: 'fn',
      config,
      logger: logs.logger,
      port: 0,
      handler: async (_req, ctx) => {
        seen.push(ctx);
        await new Promise((r) => ctx.signal.addEventListener('abort', r));
        return { status: 503, body: { cancelled: true } };
      },
    });
    const exits: number[] = [];
    cleanups.push(installSignalHandlers(server.server, { graceMs: 30, log: logs.logger, signals: ['SIGUSR2'], exit: (c) => exits.push(c) }));

    const pending = fetch(`${server.url}/slow`);
    await until(() => seen.length === 1);
    process.kill(process.pid, 'SIGUSR2');
    const res = await pending;
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ cancelled: true });
    await until(() => exits.length === 1);
    expect(exits).toEqual([0]);
    expect(server.server.listening).toBe(false);
    expect(logs.lines().map((l) => l.msg)).toEqual(
      expect.arrayContaining(['shutting down', 'grace period over: cancelling calls in progress', 'shut down']),
    );
  });

  test('a second signal exits at once with 1', async () => {
    let started = 0;
    const server = await startFunctionServer({
      functionName: 'fn',
      config,
      logger: captureLogs().logger,
      port: 0,
      handler: async (_req, ctx) => {
        started++;
        await new Promise((r) => ctx.signal.addEventListener('abort', r));
        return {};
      },
    });
    const exits: number[] = [];
    cleanups.push(installSignalHandlers(server, { graceMs: 60_000, signals: ['SIGUSR2'], exit: (c) => exits.push(c) }));
    const pending = fetch(`${server.url}/slow`).catch(() => undefined);
    await until(() => started === 1);
    process.kill(process.pid, 'SIGUSR2');
    await until(() => !server.server.listening);
    expect(exits).toEqual([]);
    process.kill(process.pid, 'SIGUSR2');
    await until(() => exits.length === 1);
    expect(exits).toEqual([1]);
    await server.close({ graceMs: 0, forceMs: 0 });
    await pending;
  });

  test('works for a plain http.Server: waits for calls, then exits 0', async () => {
    let release!: () => void;
    const server = http.createServer((_req, res) => {
      release = () => res.end('done');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const exits: number[] = [];
    cleanups.push(installSignalHandlers(server, { graceMs: 60_000, signals: ['SIGUSR2'], exit: (c) => exits.push(c) }));
    const pending = fetch(`http://127.0.0.1:${port}/`);
    await until(() => release !== undefined);
    process.kill(process.pid, 'SIGUSR2');
    await until(() => !server.listening);
    expect(exits).toEqual([]);
    release();
    expect(await (await pending).text()).toBe('done');
    await until(() => exits.length === 1);
    expect(exits).toEqual([0]);
  });
});
