/** `npm run cluster` as another process would use it: URL on stdout, kubeconfig file, /_emulator endpoints, clean stop. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';

let dir: string | undefined;

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('dev/cluster/cli.ts', () => {
  it('serves until SIGTERM, with faults and the request log over HTTP', async () => {
    dir = await mkdtemp(join(tmpdir(), 'emulator-cli-'));
    const kubeconfigPath = join(dir, 'kubeconfig');
    const child = execa('node', ['--import', 'tsx', 'dev/cluster/cli.ts', '--port=0', `--kubeconfig=${kubeconfigPath}`, '--lb-ip=192.0.2.1'], { reject: false, buffer: { stdout: false } });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const line = /^(http:\/\/\S+)\n/m.exec(out);
        if (line) resolve(line[1]);
      });
      void child.then((r) => reject(new Error(`cli exited early: ${r.stderr}`)));
    });
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const kubeconfig = parse(await readFile(kubeconfigPath, 'utf8'));
      expect(kubeconfig).toMatchObject({ 'current-context': 'emulator', clusters: [{ name: 'emulator', cluster: { server: url } }] });

      const service = { metadata: { name: 'lb' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } };
      const created = await fetch(`${url}/api/v1/namespaces/default/services`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(service) });
      expect((await created.json()).status).toEqual({ loadBalancer: { ingress: [{ ip: '192.0.2.1', ipMode: 'VIP' }] } });

      await fetch(`${url}/_emulator/faults`, { method: 'POST', body: JSON.stringify({ verb: 'get', resource: 'services', status: 500, times: 1 }) });
      expect((await fetch(`${url}/api/v1/namespaces/default/services/lb`)).status).toBe(500);
      expect((await fetch(`${url}/api/v1/namespaces/default/services/lb`)).status).toBe(200);
      const log = await (await fetch(`${url}/_emulator/requests`)).json();
      expect(log.counters).toEqual({ 'create services': 1, 'get services': 2 });
    } finally {
      child.kill('SIGTERM');
    }
    const result = await child;
    expect(result.exitCode).toBe(0);
  });
});
