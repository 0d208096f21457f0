// `npm start` as a person uses it: start it, read the token and URLs it prints, deploy the demo
// chart with the printed values, press Ctrl-C.
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
}

let child: ChildProcess | undefined;

afterAll(() => {
  // Only if the test failed before stopping it.
  if (child && child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
});

function waitForExit(proc: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
}

test('npm start: emulated cluster, printed token and curl example work, Ctrl-C stops everything', async () => {
  // `npm start` runs `tsx dev/start.ts`; here node loads tsx in-process (`--import tsx`), so the
  // signal reaches dev/start.ts itself: the tsx CLI wrapper gives its child only 30 ms to
  // acknowledge a relayed Ctrl-C before killing it, which a busy test machine can miss.
  child = spawn(process.execPath, ['--import', 'tsx', 'dev/start.ts'], {
    cwd: root,
    detached: true,
    env: { ...process.env, PORT: '0', USE_EMBEDDED_CLUSTER: '1', LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = waitForExit(child);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const ready = await new Promise<Ready>((resolve, reject) => {
    child!.stdout!.on('data', (d) => {
      stdout += d;
      const line = /^READY (.+)$/m.exec(stdout);
      if (line) resolve(JSON.parse(line[1]));
    });
    void exited.then((code) => reject(new Error(`npm start exited with ${code}: ${stderr}`)));
  });

  expect(ready).toMatchObject({ cluster: 'emulated', chart: 'iot-gateway', url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
  expect(ready.token).toMatch(/^[0-9a-f]{48}$/);
  expect(stdout).toContain(`EMULATED Kubernetes API (in memory: nothing really runs) at ${ready.clusterUrl}`);
  expect(stdout).toContain(`kubeconfig  ${ready.kubeconfig}`);
  // The printed curl command carries the token and the chart repository.
  expect(stdout).toContain(`curl -sS -X POST ${ready.url}/function/deploy-and-expose`);
  expect(stdout).toContain(`-H 'Authorization: Bearer ${ready.token}'`);
  expect(stdout).toContain(`"privateChartsRepo":"${ready.chartRepo}"`);
  expect(existsSync(ready.kubeconfig)).toBe(true);

  const body = /-d '(\{"chartName".+?\})'/.exec(stdout)![1];
  const res = await fetch(`${ready.url}/function/deploy-and-expose`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ready.token}`, 'content-type': 'application/json' },
    body,
  });
  const answer = await res.json();
  expect(res.status).toBe(201);
  expect(answer).toMatchObject({ releaseName: 'demo', namespace: 'tenant-a', created: true });
  expect(answer.endpoints.map((e: { protocol: string; servicePort: number }) => `${e.protocol}/${e.servicePort}`)).toEqual(['tcp/1883', 'udp/5683']);

  const refused = await fetch(`${ready.url}/function/deploy-and-expose`, { method: 'POST', body });
  expect(refused.status).toBe(401);

  // Ctrl-C: a terminal sends SIGINT to the whole process group.
  process.kill(-child.pid!, 'SIGINT');
  expect(await exited).toBe(0);
  expect(stderr).toContain('SIGINT: stopping');
  expect(existsSync(ready.kubeconfig)).toBe(false);
  await expect(fetch(`${ready.url}/healthz`)).rejects.toThrow();
});
