// `npm start` as a person uses it: start it, read the token and URLs it prints, deploy the demo
// chart with the printed values, press Ctrl-C. Also with EXPOSURE_BACKEND=gateway-api.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Ready {
  url: string;
  token: string;
  chartRepo: string;
  chart: string;
  cluster: string;
  clusterUrl: string;
  kubeconfig: string;
  exposure: string;
}

let child: ChildProcess | undefined;

afterAll(() => {
  // Only if the test failed before stopping it.
  if (child && child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
});

function waitForExit(proc: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
}

/** Starts `npm start` with `env` and waits for its READY line. */
async function npmStart(env: NodeJS.ProcessEnv) {
  // `npm start` runs `tsx dev/start.ts`; here node loads tsx in-process (`--import tsx`), so the
  // signal reaches dev/start.ts itself: the tsx CLI wrapper gives its child only 30 ms to
  // acknowledge a relayed Ctrl-C before killing it, which a busy test machine can miss.
  const proc = spawn(process.execPath, ['--import', 'tsx', 'dev/start.ts'], {
    cwd: root,
    detached: true,
    env: { ...process.env, PORT: '0', USE_EMBEDDED_CLUSTER: '1', LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  const exited = waitForExit(proc);
  const out = { stdout: '', stderr: '' };
  proc.stderr!.on('data', (d) => (out.stderr += d));
  const ready = await new Promise<Ready>((resolve, reject) => {
    proc.stdout!.on('data', (d) => {
      out.stdout += d;
      const line = /^READY (.+)$/m.exec(out.stdout);
      if (line) resolve(JSON.parse(line[1]));
    });
    void exited.then((code) => reject(new Error(`npm start exited with ${code}: ${out.stderr}`)));
  });
  return { proc, exited, out, ready };
}

async function deployPrintedBody(ready: Ready, stdout: string): Promise<{ status: number; answer: any; body: string }> {
  const body = /-d '(\{"chartName".+?\})'/.exec(stdout)![1];
  const res = await fetch(`${ready.url}/function/deploy-and-expose`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ready.token}`, 'content-type': 'application/json' },
    body,
  });
  return { status: res.status, answer: await res.json(), body };
}

test('npm start: emulated cluster, printed token and curl example work, Ctrl-C stops everything', async () => {
  const { proc, exited, out, ready } = await npmStart({});
  const { stdout } = out;

  expect(ready).toMatchObject({ cluster: 'emulated', chart: 'iot-gateway', exposure: 'ingress-nginx', url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
  expect(ready.token).toMatch(/^[0-9a-f]{48}$/);
  expect(stdout).toContain(`EMULATED Kubernetes API (in memory: nothing really runs) at ${ready.clusterUrl}`);
  expect(stdout).toContain(`kubeconfig  ${ready.kubeconfig}`);
  // The printed curl command carries the token and the chart repository.
  expect(stdout).toContain(`curl -sS -X POST ${ready.url}/function/deploy-and-expose`);
  expect(stdout).toContain(`-H 'Authorization: Bearer ${ready.token}'`);
  expect(stdout).toContain(`"privateChartsRepo":"${ready.chartRepo}"`);
  expect(existsSync(ready.kubeconfig)).toBe(true);

  expect(stdout).toMatch(/ {2}ingress {5}ingress-nginx\/ingress-nginx-controller \(emulated ingress-nginx\) at 203\.0\.113\.10\n/);

  const { status, answer, body } = await deployPrintedBody(ready, stdout);
  expect(status).toBe(201);
  expect(answer).toMatchObject({ releaseName: 'demo', namespace: 'tenant-a', created: true });
  expect(answer.endpoints.map((e: { protocol: string; servicePort: number }) => `${e.protocol}/${e.servicePort}`)).toEqual(['tcp/1883', 'udp/5683']);

  const refused = await fetch(`${ready.url}/function/deploy-and-expose`, { method: 'POST', body });
  expect(refused.status).toBe(401);

  // Ctrl-C: a terminal sends SIGINT to the whole process group.
  process.kill(-proc.pid!, 'SIGINT');
  expect(await exited).toBe(0);
  expect(out.stderr).toContain('SIGINT: stopping');
  expect(existsSync(ready.kubeconfig)).toBe(false);
  await expect(fetch(`${ready.url}/healthz`)).rejects.toThrow();
});

test('EXPOSURE_BACKEND=gateway-api npm start: the emulator serves a labelled Gateway, the printed curl exposes on it', async () => {
  const { proc, exited, out, ready } = await npmStart({ EXPOSURE_BACKEND: 'gateway-api' });
  expect(ready.exposure).toBe('gateway-api');
  expect(out.stdout).toMatch(/ {2}gateway {5}gateway-system\/gateway \(emulated Gateway API Gateway, appingress=gateway\) at 203\.0\.113\.10\n/);
  expect(out.stdout).not.toContain('emulated ingress-nginx');

  const { status, answer } = await deployPrintedBody(ready, out.stdout);
  expect(status).toBe(201);
  expect(answer.endpoints.map((e: { ip: string; protocol: string; port: number }) => `${e.ip} ${e.protocol}/${e.port}`)).toEqual([
    '203.0.113.10 tcp/20000',
    '203.0.113.10 udp/20000',
  ]);
  // The rule is a listener on the Gateway, read through the emulator's API as a user would.
  const gateway = await (await fetch(`${ready.clusterUrl}/apis/gateway.networking.k8s.io/v1/namespaces/gateway-system/gateways/gateway`)).json();
  expect(gateway.spec.listeners.map((l: { name: string }) => l.name)).toEqual(['http', 'tcp-20000', 'udp-20000']);

  process.kill(-proc.pid!, 'SIGINT');
  expect(await exited).toBe(0);
});
