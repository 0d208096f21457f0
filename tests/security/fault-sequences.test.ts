// Port claims under Kubernetes API faults, property-based: each run injects a random sequence of
// emulator faults (500/503/429 answers, write conflicts, slow answers on the tcp/udp ConfigMaps and
// the controller Service, on reads and writes) while two replicas of the ingress-rule function serve
// a random mix of concurrent creates and deletes over HTTP. Afterwards, and after one repair call
// without faults, nothing is lost: every answered rule is where it was answered, no port went to two
// backends, and the ConfigMaps and the controller Service agree port for port.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { loadConfig } from '#runtime/config.js';
import { createLogger } from '#runtime/logger.js';
import { startFunctionServer, type FunctionServer } from '#runtime/server.js';
import type { FunctionHandler } from '#runtime/types.js';
import { startCluster, type Cluster } from '../../dev/cluster/index.js';
import { INGRESS_DEFAULTS, ingressControllerObjects } from '../../dev/ingress-fixture.js';
import { handler } from '../../functions/ingress-rule/handler.js';

const SEED = 0xfa17;
const RUNS = 40;
const NAMESPACE = 'tenant-a';
const BACKENDS = 6;
const SERVICE_PORTS = [5432, 6379] as const;
const LB = INGRESS_DEFAULTS.namespace;
const CONFIGMAPS = { tcp: INGRESS_DEFAULTS.tcpConfigMap, udp: INGRESS_DEFAULTS.udpConfigMap } as const;

type Protocol = 'tcp' | 'udp';

let cluster: Cluster;
const replicas: FunctionServer[] = [];

// Another replica: its own copy of the runtime modules, so its own ingress instance, writers and
// caches; only the cluster is shared. Its errors are instances of its own error module.
async function otherReplica(): Promise<FunctionHandler> {
  vi.resetModules();
  const mod = await import('../../functions/ingress-rule/handler.js');
  const { toErrorResponse } = await import('#runtime/errors.js');
  return async (req, ctx) => {
    try {
      return await mod.handler(req, ctx);
    } catch (err) {
      return toErrorResponse(err);
    }
  };
}

beforeAll(async () => {
  cluster = await startCluster({
    seed: [
      ...ingressControllerObjects(),
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } },
      // Every backend exists, so a repair has no rule to remove for a missing Service.
      ...Array.from({ length: BACKENDS }, (_, i) => ({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: `svc-${i}`, namespace: NAMESPACE },
        spec: {
          selector: { app: `svc-${i}` },
          ports: SERVICE_PORTS.flatMap((port) => ['TCP', 'UDP'].map((protocol) => ({ name: `${protocol.toLowerCase()}-${port}`, port, protocol }))),
        },
      })),
    ],
  });
  const config = loadConfig({ KUBECONFIG: cluster.kubeconfigPath, PORT_RANGE: '30000-30039', AUTH_SECRET_NAME: '' });
  const logger = createLogger({ level: 'silent' });
  for (const [functionName, fn] of [
    ['ingress-rule', handler],
    ['ingress-rule-b', await otherReplica()],
  ] as const) {
    replicas.push(await startFunctionServer({ handler: fn, functionName, config, logger, port: 0 }));
  }
});

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.close({ graceMs: 0, forceMs: 0 })));
  await cluster?.stop();
});

// ---------------------------------------------------------------------------------------------
// Scenarios

type Fault =
  | { kind: 'inject'; status: 500 | 503 | 429; verb: string; resource: 'configmaps' | 'services'; times: number; at: number }
  | { kind: 'conflict'; object: Protocol | 'service'; times: number; at: number }
  | { kind: 'delay'; verb: string; resource: 'configmaps' | 'services'; ms: number; times: number; at: number };

interface Target {
  serviceName: string;
  servicePort: number;
  protocol: Protocol;
}
type Op = (
  | { kind: 'create'; target: Target; port?: number }
  | { kind: 'delete'; serviceName: string; servicePort: number; protocol?: Protocol }
) & { replica: 0 | 1; at: number };

const at = fc.integer({ min: 0, max: 40 });
const faultArb: fc.Arbitrary<Fault> = fc.oneof(
  fc.record({
    kind: fc.constant('inject' as const),
    status: fc.constantFrom(500 as const, 503 as const, 429 as const),
    // What a claim does: list controller Services, read and replace the ConfigMap and the Service.
    call: fc.constantFrom(
      { verb: 'list', resource: 'services' as const },
      { verb: 'get', resource: 'configmaps' as const },
      { verb: 'update', resource: 'configmaps' as const },
      { verb: 'get', resource: 'services' as const },
      { verb: 'update', resource: 'services' as const },
    ),
    // More than the 5 attempts of one call: some claims fail.
    times: fc.integer({ min: 1, max: 12 }),
    at,
  }).map(({ call, ...rest }) => ({ ...rest, ...call })),
  fc.record({ kind: fc.constant('conflict' as const), object: fc.constantFrom('tcp' as const, 'udp' as const, 'service' as const), times: fc.integer({ min: 1, max: 4 }), at }),
  fc.record({
    kind: fc.constant('delay' as const),
    verb: fc.constantFrom('get', 'update'),
    resource: fc.constantFrom('configmaps' as const, 'services' as const),
    ms: fc.integer({ min: 5, max: 150 }),
    times: fc.integer({ min: 1, max: 4 }),
    at,
  }),
);
const serviceName = fc.integer({ min: 0, max: BACKENDS - 1 }).map((i) => `svc-${i}`);
const protocol = fc.constantFrom<Protocol>('tcp', 'udp');
const replica = fc.constantFrom<0 | 1>(0, 1);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('create' as const),
      target: fc.record({ serviceName, servicePort: fc.constantFrom(...SERVICE_PORTS), protocol }),
      port: fc.option(fc.integer({ min: 30000, max: 30039 }), { freq: 5, nil: undefined }),
      replica,
      at,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('delete' as const),
      serviceName,
      servicePort: fc.constantFrom(...SERVICE_PORTS),
      protocol: fc.option(protocol, { nil: undefined }),
      replica,
      at,
    }),
  },
);
const scenarioArb = fc.record({ faults: fc.array(faultArb, { minLength: 1, maxLength: 6 }), ops: fc.array(opArb, { minLength: 1, maxLength: 14 }) });

// ---------------------------------------------------------------------------------------------
// Running one scenario

interface Outcome {
  op: Op;
  started: number;
  ended: number;
  status: number;
  body: { port?: number; error?: { code: string } };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function inject(fault: Fault): void {
  if (fault.kind === 'inject') {
    cluster.faults.inject({ verb: fault.verb, resource: fault.resource, namespace: LB, status: fault.status, times: fault.times, retryAfterSeconds: 0 });
  } else if (fault.kind === 'delay') {
    cluster.faults.delay({ verb: fault.verb, resource: fault.resource, namespace: LB, ms: fault.ms, times: fault.times });
  } else {
    const ref =
      fault.object === 'service'
        ? { resource: 'services', namespace: LB, name: INGRESS_DEFAULTS.serviceName }
        : { resource: 'configmaps', namespace: LB, name: CONFIGMAPS[fault.object] };
    for (let i = 0; i < fault.times; i++) cluster.faults.conflictNext(ref);
  }
}

async function call(replicaIndex: number, path: string, body: unknown): Promise<{ status: number; body: Outcome['body'] }> {
  const res = await fetch(`${replicas[replicaIndex].url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Outcome['body'] };
}

async function run(op: Op): Promise<Outcome> {
  await sleep(op.at);
  const started = performance.now();
  const answer =
    op.kind === 'create'
      ? await call(op.replica, '/create', { ...op.target, namespace: NAMESPACE, ...(op.port !== undefined && { port: op.port }) })
      : await call(op.replica, '/delete', {
          namespace: NAMESPACE,
          serviceName: op.serviceName,
          servicePort: op.servicePort,
          ...(op.protocol !== undefined && { protocol: op.protocol }),
        });
  return { op, started, ended: performance.now(), ...answer };
}

/** Empty tcp/udp ConfigMaps and a controller Service with only http and https. */
function resetIngress(): void {
  for (const name of Object.values(CONFIGMAPS)) {
    const cm = cluster.store.get({ resource: 'configmaps', namespace: LB, name })!;
    cluster.store.update({ ...cm, data: {} });
  }
  const svc = cluster.store.get({ resource: 'services', namespace: LB, name: INGRESS_DEFAULTS.serviceName }) as unknown as {
    spec: { ports: { name: string }[] };
  };
  cluster.store.update({ ...svc, spec: { ...svc.spec, ports: svc.spec.ports.filter((p) => p.name === 'http' || p.name === 'https') } });
}

interface State {
  entries: Record<Protocol, Record<string, string>>;
  servicePorts: { name?: string; port: number; targetPort?: number | string; protocol?: string }[];
}

function state(): State {
  const data = (p: Protocol) => (cluster.store.get({ resource: 'configmaps', namespace: LB, name: CONFIGMAPS[p] }) as unknown as { data?: Record<string, string> }).data ?? {};
  const svc = cluster.store.get({ resource: 'services', namespace: LB, name: INGRESS_DEFAULTS.serviceName }) as unknown as { spec: { ports: State['servicePorts'] } };
  return { entries: { tcp: data('tcp'), udp: data('udp') }, servicePorts: svc.spec.ports };
}

const value = (t: Target) => `${NAMESPACE}/${t.serviceName}:${t.servicePort}`;
const key = (t: Target) => `${t.protocol} ${value(t)}`;
const ok = (o: Outcome) => o.status >= 200 && o.status < 300;
const deletes = (o: Outcome, t: Target) =>
  o.op.kind === 'delete' && o.op.serviceName === t.serviceName && o.op.servicePort === t.servicePort && (o.op.protocol === undefined || o.op.protocol === t.protocol);

/** What the answers promise about the ConfigMaps, checked before any repair. */
function lostRules(outcomes: Outcome[], s: State): string[] {
  const problems: string[] = [];
  const creates = outcomes.filter((o): o is Outcome & { op: { kind: 'create' } } => o.op.kind === 'create');
  const targets = new Map(creates.map((c) => [key(c.op.target), c.op.target]));
  for (const target of targets.values()) {
    const mine = creates.filter((c) => key(c.op.target) === key(target));
    const dels = outcomes.filter((o) => deletes(o, target));
    const lastDeleteEnd = Math.max(-Infinity, ...dels.map((d) => d.ended));
    const lastCreateEnd = Math.max(-Infinity, ...mine.map((c) => c.ended));
    const where = Object.entries(s.entries[target.protocol]).filter(([, v]) => v === value(target)).map(([p]) => Number(p));
    // A successful create that began after every delete of its target ended: the rule is there,
    // at the answered port, and the Service has that port open.
    for (const c of mine.filter((c) => ok(c) && c.started > lastDeleteEnd)) {
      const port = c.body.port!;
      if (!where.includes(port)) problems.push(`${key(target)} answered ${c.status} with port ${port} but the ConfigMap has it at [${where}]`);
      const open = s.servicePorts.some((p) => p.name === `${target.protocol}-${port}` && p.port === port);
      if (!open) problems.push(`${key(target)} answered ${c.status} with port ${port} but the Service has no port ${target.protocol}-${port}`);
    }
    // A successful delete that began after every create of its target ended: the rule is gone.
    if (dels.some((d) => ok(d) && d.started > lastCreateEnd) && where.length > 0) {
      problems.push(`${key(target)} was deleted after its last create, yet the ConfigMap maps it at [${where}]`);
    }
  }
  // No port to two backends: two successful creates of different targets with the same port need a
  // delete of the first target in between.
  const answered = creates.filter(ok);
  for (const a of answered) {
    for (const b of answered) {
      if (key(a.op.target) === key(b.op.target) || a.op.target.protocol !== b.op.target.protocol || a.body.port !== b.body.port) continue;
      const freed = (first: typeof a, second: typeof a) => outcomes.some((d) => deletes(d, first.op.target) && d.started < second.ended);
      if (!freed(a, b) && !freed(b, a)) problems.push(`port ${a.op.target.protocol}/${a.body.port} was given to ${value(a.op.target)} and ${value(b.op.target)}`);
    }
  }
  return problems;
}

/** ConfigMap entries and `<proto>-<port>` Service ports, one for one. */
function disagreements(s: State): string[] {
  const problems: string[] = [];
  for (const p of ['tcp', 'udp'] as const) {
    for (const port of Object.keys(s.entries[p]).map(Number)) {
      const open = s.servicePorts.filter((sp) => sp.name === `${p}-${port}`);
      const right = open.filter((sp) => sp.port === port && String(sp.targetPort) === String(port) && sp.protocol === p.toUpperCase());
      if (open.length !== 1 || right.length !== 1) problems.push(`entry ${p}/${port} has Service ports ${JSON.stringify(open)}`);
    }
  }
  for (const sp of s.servicePorts) {
    const m = /^(tcp|udp)-(\d+)$/.exec(sp.name ?? '');
    if (m && !Object.hasOwn(s.entries[m[1] as Protocol], m[2])) problems.push(`Service port ${sp.name} has no ConfigMap entry`);
  }
  const seen = new Set<string>();
  for (const sp of s.servicePorts) {
    const k = `${sp.protocol ?? 'TCP'}/${sp.port}`;
    if (seen.has(k)) problems.push(`Service port ${k} twice`);
    seen.add(k);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------

describe('port claims under Kubernetes API faults', () => {
  test('nothing is lost: answered rules stay, no port goes twice, ConfigMaps and Service agree after one repair', async () => {
    const figures = {
      runs: 0,
      faultsInjected: 0,
      faultAnswers: 0,
      conflicts: 0,
      kubeRequests: 0,
      createsOk: 0,
      createsFailed: 0,
      deletesOk: 0,
      deletesFailed: 0,
      failuresByCode: {} as Record<string, number>,
      runsInconsistentBeforeRepair: 0,
      runsNeedingRepair: 0,
      portsFixedByRepair: 0,
    };
    const started = performance.now();

    await fc.assert(
      fc.asyncProperty(scenarioArb, async ({ faults, ops }) => {
        cluster.faults.clear();
        resetIngress();
        cluster.requests.reset();

        const injecting = Promise.all(faults.map(async (f) => (await sleep(f.at), inject(f))));
        const outcomes = await Promise.all(ops.map(run));
        await injecting;
        const log = cluster.requests.entries.filter((e) => e.namespace === LB);
        cluster.faults.clear();

        figures.runs++;
        figures.faultsInjected += faults.reduce((n, f) => n + f.times, 0);
        figures.faultAnswers += log.filter((e) => [429, 500, 503].includes(e.status)).length;
        figures.conflicts += log.filter((e) => e.status === 409).length;
        figures.kubeRequests += log.length;
        for (const o of outcomes) {
          const kind = o.op.kind === 'create' ? 'creates' : 'deletes';
          if (ok(o)) figures[`${kind}Ok`]++;
          else {
            figures[`${kind}Failed`]++;
            const code = `${o.status} ${o.body.error?.code}`;
            figures.failuresByCode[code] = (figures.failuresByCode[code] ?? 0) + 1;
          }
        }

        const before = state();
        expect(lostRules(outcomes, before)).toEqual([]);
        if (disagreements(before).length > 0) figures.runsInconsistentBeforeRepair++;
        const repair = await call(0, '/repair', { dryRun: false });
        expect(repair.status).toBe(200);
        const repaired = repair.body as unknown as { removed: unknown[]; fixed: unknown[] };
        // Every backend Service exists: a repair never has a rule to remove.
        expect(repaired.removed).toEqual([]);
        if (repaired.fixed.length > 0) figures.runsNeedingRepair++;
        figures.portsFixedByRepair += repaired.fixed.length;
        const after = state();
        expect(disagreements(after)).toEqual([]);
        // The repair changed Service ports only, never an answered rule.
        expect(lostRules(outcomes, after)).toEqual([]);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );

    console.log(`fault sequences: ${JSON.stringify({ ...figures, seed: SEED, elapsedMs: Math.round(performance.now() - started) })}`);
    // The runs exercised what they claim to: faults were answered, conflicts met, and claims both
    // succeeded and failed.
    expect(figures.faultAnswers).toBeGreaterThan(0);
    expect(figures.conflicts).toBeGreaterThan(0);
    expect(figures.createsOk).toBeGreaterThan(0);
  });

  test('a claim that fails between its two writes is completed by its retry, or by one repair', async () => {
    cluster.faults.clear();
    resetIngress();
    const claim = { serviceName: 'svc-0', servicePort: 5432, protocol: 'tcp', namespace: NAMESPACE };
    const breakServiceWrites = () =>
      cluster.faults.inject({ verb: 'update', resource: 'services', namespace: LB, name: INGRESS_DEFAULTS.serviceName, status: 500, times: 5 });

    breakServiceWrites();
    const failed = await call(0, '/create', claim);
    expect([failed.status, failed.body.error?.code]).toEqual([502, 'KUBE_API_ERROR']);
    // The ConfigMap (the truth) has the rule, the Service does not have its port yet.
    expect(state().entries.tcp).toEqual({ '30000': 'tenant-a/svc-0:5432' });
    expect(disagreements(state())).toEqual(['entry tcp/30000 has Service ports []']);
    // The same claim again: same port, and now the port is open.
    expect(await call(1, '/create', claim)).toMatchObject({ status: 200, body: { port: 30000, created: false } });
    expect(disagreements(state())).toEqual([]);

    breakServiceWrites();
    expect((await call(0, '/create', { ...claim, serviceName: 'svc-1' })).status).toBe(502);
    expect(disagreements(state())).toEqual(['entry tcp/30001 has Service ports []']);
    const repair = await call(1, '/repair', { dryRun: false });
    expect(repair).toEqual({ status: 200, body: { dryRun: false, removed: [], fixed: [{ ip: expect.any(String), protocol: 'tcp', port: 30001, action: 'added', object: 'service-port' }] } });
    expect(disagreements(state())).toEqual([]);
  });
});
