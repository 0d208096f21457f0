// `npm run bench`: the figures of BENCHMARKS.md in one run (about two minutes), against the
// in-memory Kubernetes API (dev/cluster) and the real helm binary. Prints figures only; nothing
// here passes or fails a build.
//
//   1. deploy-and-expose wall time vs a raw `helm install` of the same chart (deploy.ts)
//   2. Kubernetes requests made by the functions' own code per expose (deploy.ts)
//   3. 200 concurrent port claims, coalesced, and the naive-vs-coalesced table (claims.ts); the
//      same 200 claims with the Gateway API backend over four Gateways (gateway-claims.ts)
//   4. port-lookup latency with 0, 1,000 and 10,000 rules (lookup.ts)
//   5. helm list latency with 10, 100 and 1,000 releases (helm-list.ts)
//   6. cold start of each function process (cold-start.ts)
import { resolveHelmBinary } from '#runtime/helm/binary.js';
import { runScenario, type Outcome, type Scenario } from './claims.js';
import { benchColdStart, type ColdStartOutcome } from './cold-start.js';
import { benchDeploy } from './deploy.js';
import { benchGatewayClaims } from './gateway-claims.js';
import { benchHelmList, releaseSeeder, type HelmListOutcome } from './helm-list.js';
import { benchLookup, type LookupOutcome } from './lookup.js';
import { formatMachine, machineInfo } from './machine.js';
import { startBenchStack, type BenchStack } from './stack.js';
import { formatMs, median } from './stats.js';
import { formatTable } from './table.js';

const DEPLOY_RUNS = 12;
const LOOKUP_SAMPLES = 40;
const LIST_RUNS = 5;
const COLD_START_RUNS = 5;
const FUNCTIONS = ['deploy-and-expose', 'helm', 'ingress-rule', 'port-lookup', 'undeploy'];

const started = performance.now();
const say = (text = '') => process.stdout.write(`${text}\n`);
const section = (title: string) => say(`\n== ${title}`);
const yesNo = (ok: boolean) => (ok ? 'yes' : 'NO');

async function withStack<T>(fn: (bench: BenchStack) => Promise<T>): Promise<T> {
  const bench = await startBenchStack();
  try {
    return await fn(bench);
  } finally {
    await bench.close();
  }
}

say(`helm deployer functions: benchmark, ${new Date().toISOString()}`);
say();
say(formatMachine(await machineInfo(resolveHelmBinary({}))));

// 1 and 2.
section(`1+2. deploy-and-expose vs raw helm install (${DEPLOY_RUNS} each, interleaved, nothing torn down)`);
const deploy = await withStack((bench) => benchDeploy(bench, DEPLOY_RUNS));
const rawMs = median(deploy.raw);
const oursMs = median(deploy.ours);
const ratio = oursMs / rawMs;
const rules = median(deploy.rules);
const perExpose = median(deploy.ourRequests);
const perRule = perExpose / rules;
say(
  formatTable(
    ['', 'median', 'min', 'max'],
    [
      ['raw helm install', formatMs(rawMs), formatMs(Math.min(...deploy.raw)), formatMs(Math.max(...deploy.raw))],
      ['deploy-and-expose', formatMs(oursMs), formatMs(Math.min(...deploy.ours)), formatMs(Math.max(...deploy.ours))],
    ],
    ['left'],
  ),
);
say(`ratio ours/raw ${ratio.toFixed(2)}`);
say(
  `requests by the functions' code per expose (${rules} rules): ${deploy.ourRequests.join(' ')}; 409s: ${deploy.ourConflicts}; ` +
    `helm's own: ${median(deploy.helmRequests)} per install`,
);
say(`requests by the functions' code per deploy-and-expose of one port (expose.servicePort): ${deploy.onePortRequests.join(' ')}; 409s: ${deploy.onePortConflicts}`);
const calls = deploy.ours.length;
say(`  per expose: ${Object.entries(deploy.ourCounters).map(([k, n]) => `${k} ${(n / calls).toFixed(1)}`).join(', ')}`);

// 3: the existing claims table (naive CAS vs coalesced writes).
section('3. port claims: N concurrent claims, naive CAS vs coalesced, 1 or 4 instances, with/without 2 ms API latency');
const scenarios: Scenario[] = [];
for (const latencyMs of [0, 2]) {
  for (const claims of [50, 200]) {
    scenarios.push({ claims, coalesce: false, instances: 1, latencyMs });
    scenarios.push({ claims, coalesce: true, instances: 1, latencyMs });
    scenarios.push({ claims, coalesce: true, instances: 4, latencyMs });
  }
}
const claimColumns: [string, (o: Outcome) => string][] = [
  ['latency', (o) => `${o.latencyMs} ms`],
  ['N', (o) => String(o.claims)],
  ['mode', (o) => (o.coalesce ? 'coalesced' : 'naive CAS')],
  ['instances', (o) => String(o.instances)],
  ['time', (o) => `${Math.round(o.ms)} ms`],
  ['claims/s', (o) => o.claimsPerSecond.toFixed(0)],
  ['CM writes/claim', (o) => (o.configMapWrites / o.claims).toFixed(2)],
  ['Svc writes/claim', (o) => (o.serviceWrites / o.claims).toFixed(2)],
  ['409s', (o) => String(o.conflicts)],
  ['requests/claim', (o) => (o.requests / o.claims).toFixed(1)],
  ['CM retries mean/max', (o) => `${o.retriesMean.toFixed(2)}/${o.retriesMax}`],
  ['ok', (o) => `${o.succeeded}/${o.claims}${o.duplicates === 0 ? '' : ' DUPLICATES'}${o.consistent ? '' : ' INCONSISTENT'}`],
];
const outcomes: Outcome[] = [];
for (const scenario of scenarios) outcomes.push(await runScenario(scenario));
say(formatTable(claimColumns.map(([title]) => title), outcomes.map((o) => claimColumns.map(([, cell]) => cell(o)))));
const headline = outcomes.find((o) => o.claims === 200 && o.coalesce && o.instances === 1 && o.latencyMs === 0)!;

section('3b. Gateway API backend: 200 concurrent claims, coalesced, one instance, 4 Gateways of 64 listeners');
const gw = await benchGatewayClaims(200, 4);
say(
  formatTable(
    ['time', 'claims/s', 'ok', 'duplicates', 'spilled', 'Gateway writes', '409s', 'requests/claim', 'retries mean/max'],
    [
      [
        `${Math.round(gw.ms)} ms`,
        gw.claimsPerSecond.toFixed(0),
        `${gw.succeeded}/${gw.claims}`,
        String(gw.duplicates),
        String(gw.spilled),
        String(gw.gatewayWrites),
        String(gw.conflicts),
        gw.requestsPerClaim.toFixed(1),
        `${gw.retriesMean.toFixed(2)}/${gw.retriesMax}`,
      ],
    ],
  ),
);
say(`one claim alone: ${gw.single.length} requests (${gw.single.join(', ')})`);

// 4 and 5.
section(`4. port-lookup over HTTP (gateway -> function -> emulator), ${LOOKUP_SAMPLES} lookups each`);
const lookups: LookupOutcome[] = await withStack(async (bench) => {
  const out: LookupOutcome[] = [];
  for (const rulesStored of [0, 1_000, 10_000]) out.push(await benchLookup(bench, rulesStored, LOOKUP_SAMPLES));
  return out;
});
say(formatTable(['rules', 'p50', 'p95'], lookups.map((l) => [l.rules.toLocaleString('en'), formatMs(l.p50), formatMs(l.p95)])));

section(`5. helm list --all-namespaces, p50 of ${LIST_RUNS} runs`);
const lists: HelmListOutcome[] = await withStack(async (bench) => {
  const seeder = await releaseSeeder(bench);
  const out: HelmListOutcome[] = [];
  for (const releases of [10, 100, 1_000]) out.push(await benchHelmList(bench, seeder, releases, LIST_RUNS));
  return out;
});
say(formatTable(['releases', 'helm function /list', 'raw helm list'], lists.map((l) => [l.releases.toLocaleString('en'), formatMs(l.ours), formatMs(l.raw)])));

// 6.
section(`6. cold start: spawn of \`node index.js\` (compiled) to first health answer, median of ${COLD_START_RUNS}`);
const colds: ColdStartOutcome[] = [];
for (const fn of FUNCTIONS) colds.push(await benchColdStart(fn, COLD_START_RUNS));
say(formatTable(['function', 'median', 'runs', 'tsc build'], colds.map((c) => [c.fn, formatMs(c.median), c.runs.map((r) => Math.round(r)).join(' '), formatMs(c.compileMs)]), ['left']));

// The summary.
const lookup10k = lookups.find((l) => l.rules === 10_000)!;
section('Summary');
say(
  formatTable(
    ['#', 'figure', 'result', 'target', 'met'],
    [
      ['1', 'deploy-and-expose / raw helm install (medians)', `${formatMs(oursMs)} / ${formatMs(rawMs)} = ${ratio.toFixed(2)}`, '<= 1.15', yesNo(ratio <= 1.15)],
      ['2', 'K8s requests by our code per rule (claim)', `${perRule.toFixed(1)} (${perExpose} per expose of ${rules} rules), ${deploy.ourConflicts} x 409`, '<= 5, no 409', yesNo(perRule <= 5 && deploy.ourConflicts === 0)],
      ['2', 'the same, per deploy-and-expose of one port', `${median(deploy.onePortRequests)}, ${deploy.onePortConflicts} x 409`, '<= 5, no 409', yesNo(median(deploy.onePortRequests) <= 5 && deploy.onePortConflicts === 0)],
      ['2b', 'K8s requests by our code per claim, Gateway API backend', String(gw.single.length), '<= 5', yesNo(gw.single.length <= 5)],
      ['3', '200 concurrent claims, coalesced', `${headline.claimsPerSecond.toFixed(0)} claims/s, ${headline.duplicates} duplicates, ConfigMap CAS retries per claim ${headline.retriesMean.toFixed(2)} mean, ${headline.retriesMax} max`, '0 duplicates', yesNo(headline.duplicates === 0 && headline.succeeded === headline.claims)],
      ['3b', '200 concurrent claims, Gateway API backend', `${gw.claimsPerSecond.toFixed(0)} claims/s, ${gw.duplicates} duplicates, ${gw.spilled} spilled to the next Gateway, retries per claim ${gw.retriesMean.toFixed(2)} mean, ${gw.retriesMax} max`, '0 duplicates', yesNo(gw.duplicates === 0 && gw.succeeded === gw.claims)],
      ...lookups.map((l) => ['4', `port-lookup p50 / p95, ${l.rules.toLocaleString('en')} rules`, `${formatMs(l.p50)} / ${formatMs(l.p95)}`, l.rules === 10_000 ? 'p50 < 20 ms' : '', l.rules === 10_000 ? yesNo(lookup10k.p50 < 20) : '']),
      ...lists.map((l) => ['5', `helm list p50, ${l.releases.toLocaleString('en')} releases (function / raw)`, `${formatMs(l.ours)} / ${formatMs(l.raw)}`, '', '']),
      ...colds.map((c) => ['6', `cold start ${c.fn}`, formatMs(c.median), '', '']),
    ],
    ['right', 'left', 'left', 'left', 'left'],
  ),
);
say(`\ntotal ${((performance.now() - started) / 1000).toFixed(0)} s`);
