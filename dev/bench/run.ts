// Port-claim throughput against the in-memory API: naive CAS (one loop per claim) vs coalesced
// writes, for N concurrent claims, one instance or several (replicas), with and without added API
// latency. Prints figures only. `npm run bench` (about half a minute).
import { runScenario, type Outcome, type Scenario } from './claims.js';

const scenarios: Scenario[] = [];
for (const latencyMs of [0, 2]) {
  for (const claims of [50, 200]) {
    scenarios.push({ claims, coalesce: false, instances: 1, latencyMs });
    scenarios.push({ claims, coalesce: true, instances: 1, latencyMs });
    scenarios.push({ claims, coalesce: true, instances: 4, latencyMs });
  }
}

const columns: [string, (o: Outcome) => string][] = [
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
  ['ok', (o) => `${o.succeeded}/${o.claims}${o.distinctPorts === o.succeeded ? '' : ' DUPLICATES'}${o.consistent ? '' : ' INCONSISTENT'}`],
];

function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) => c.padStart(widths[i])).join('  ');
}

const outcomes: Outcome[] = [];
const widths = columns.map(([title]) => Math.max(title.length, 10));
console.log(row(columns.map(([title]) => title), widths));
for (const scenario of scenarios) {
  const outcome = await runScenario(scenario);
  outcomes.push(outcome);
  console.log(row(columns.map(([, cell]) => cell(outcome)), widths));
}
