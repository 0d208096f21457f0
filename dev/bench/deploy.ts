// deploy-and-expose against a raw `helm install` of the same chart, interleaved (raw, ours, raw,
// ours...), each with a fresh release name; nothing is torn down in between, for either. The raw
// install runs the functions' own helm binary with the argv the helm function builds for this
// request (installArgs: same repository entry, namespace, values file, timeout,
// --create-namespace), in the same helm home and environment, so the difference is what the
// functions add: gateway hops, validation, locks, the values file and the two port claims.
//
// Kubernetes requests made by the functions themselves (client-node) are told apart from helm's by
// their User-Agent in the emulator's request log.
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { installArgs } from '#runtime/helm/args.js';
import { helmHome } from '#runtime/helm/home.js';
import { chartLocation } from '#runtime/helm/repo.js';
import type { BenchStack } from './stack.js';
import { timed } from './stats.js';

export interface DeployOutcome {
  /** Wall time of each raw helm install / each deploy-and-expose call, ms. */
  raw: number[];
  ours: number[];
  /** Per deploy-and-expose call: Kubernetes requests made by the functions' own code, and rules made. */
  ourRequests: number[];
  rules: number[];
  /** Of those requests, answered 409. */
  ourConflicts: number;
  /** Kubernetes requests helm made per install (raw and ours alike). */
  helmRequests: number[];
  /** Requests of the functions' code by kind ("update configmaps"), summed over all calls. */
  ourCounters: Record<string, number>;
  /** Per deploy-and-expose call that exposes one port (`expose.servicePort`): requests of the functions' code, and 409s. */
  onePortRequests: number[];
  onePortConflicts: number;
}

const NAMESPACE = 'bench-deploy';
const HELM_AGENT = /^helm\//i;

export async function benchDeploy(bench: BenchStack, runs: number): Promise<DeployOutcome> {
  const { cluster, stack, config } = bench;
  const chart = stack.repo.charts[0].name;
  const request = (releaseName: string) => ({ chartName: chart, releaseName, namespace: NAMESPACE, privateChartsRepo: stack.repo.url });
  const repo = chartLocation(request('x')).repo!;
  // As the helm function writes it: the request's values (none) as JSON.
  const valuesFile = path.join(helmHome().tmp, 'bench-values.json');
  await writeFile(valuesFile, '{}', { mode: 0o600 });
  const raw = (releaseName: string) =>
    bench.helm(
      installArgs({
        releaseName,
        namespace: NAMESPACE,
        chart: `${repo.name}/${chart}`,
        valuesFile,
        timeoutSeconds: config.helmTimeoutSeconds,
        createNamespace: config.createNamespace,
      }),
    );
  const ours = (releaseName: string) => bench.call<{ endpoints: unknown[] }>('deploy-and-expose', '', request(releaseName));

  // Warm-up, not measured: the helm function adds the repository (its first call only) and both
  // paths load their code.
  await ours('warm-ours');
  await raw('warm-raw');

  const out: DeployOutcome = {
    raw: [],
    ours: [],
    ourRequests: [],
    rules: [],
    ourConflicts: 0,
    helmRequests: [],
    ourCounters: {},
    onePortRequests: [],
    onePortConflicts: 0,
  };
  try {
    for (let i = 0; i < runs; i++) {
      cluster.requests.reset();
      out.raw.push((await timed(() => raw(`raw-${i}`))).ms);
      out.helmRequests.push(cluster.requests.entries.length);

      cluster.requests.reset();
      const { ms, value } = await timed(() => ours(`ours-${i}`));
      out.ours.push(ms);
      out.rules.push(value.endpoints.length);
      const entries = cluster.requests.entries;
      const mine = entries.filter((e) => !HELM_AGENT.test(e.userAgent ?? ''));
      out.helmRequests.push(entries.length - mine.length);
      out.ourRequests.push(mine.length);
      out.ourConflicts += mine.filter((e) => e.status === 409).length;
      for (const e of mine) {
        const key = `${e.verb} ${e.resource}`;
        out.ourCounters[key] = (out.ourCounters[key] ?? 0) + 1;
      }
    }
    // A deploy-and-expose that exposes a single port: one rule per call.
    for (let i = 0; i < 3; i++) {
      cluster.requests.reset();
      const answer = await bench.call<{ endpoints: unknown[] }>('deploy-and-expose', '', { ...request(`one-${i}`), expose: { servicePort: 1883 } });
      if (answer.endpoints.length !== 1) throw new Error(`expected one endpoint, got ${answer.endpoints.length}`);
      const mine = cluster.requests.entries.filter((e) => !HELM_AGENT.test(e.userAgent ?? ''));
      out.onePortRequests.push(mine.length);
      out.onePortConflicts += mine.filter((e) => e.status === 409).length;
    }
  } finally {
    await rm(valuesFile, { force: true });
  }
  return out;
}
