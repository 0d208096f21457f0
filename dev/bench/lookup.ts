// port-lookup latency over HTTP (gateway -> port-lookup function -> exposure lookup -> emulator),
// with the tcp services ConfigMap seeded directly in the emulator store with N rules on the lowest
// ports of the range, so that the lowest free port is the (N+1)th.
import type { BenchStack } from './stack.js';
import { percentile, timed } from './stats.js';

export interface LookupOutcome {
  rules: number;
  p50: number;
  p95: number;
  samples: number;
}

function seedRules(bench: BenchStack, rules: number): void {
  const { cluster, config } = bench;
  const ref = { resource: 'configmaps', namespace: config.loadBalancerNamespace, name: config.tcpServicesConfigMap };
  const configMap = cluster.store.get(ref) as unknown as { data?: Record<string, string> };
  configMap.data = Object.fromEntries(
    Array.from({ length: rules }, (_, i) => [String(config.portRange.from + i), `bench-lookup/svc-${i}:8080`]),
  );
  cluster.store.update(configMap);
}

export async function benchLookup(bench: BenchStack, rules: number, samples: number): Promise<LookupOutcome> {
  seedRules(bench, rules);
  const expected = bench.config.portRange.from + rules;
  const lookup = () => bench.call<{ port: number }>('port-lookup', '?protocol=tcp', undefined, 'GET');
  for (let i = 0; i < 3; i++) await lookup();
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const { ms, value } = await timed(lookup);
    if (value.port !== expected) throw new Error(`port-lookup answered ${value.port} with ${rules} rules, expected ${expected}`);
    times.push(ms);
  }
  return { rules, p50: percentile(times, 50), p95: percentile(times, 95), samples };
}
