// helm list latency with N releases stored: release Secrets are seeded straight into the emulator
// store in helm's format (release-secret.ts), copied from one release installed by the real helm,
// whose Secret is decoded first to check the format. Timed through the helm function's list route
// and as the same `helm list --all-namespaces ...` run directly; both must list exactly N.
import { listArgs } from '#runtime/helm/args.js';
import { readRelease, releaseSecret, RELEASE_SECRET_TYPE, type ReleaseSecret } from './release-secret.js';
import type { BenchStack } from './stack.js';
import { median, timed } from './stats.js';

export interface HelmListOutcome {
  releases: number;
  /** p50 of the runs, ms. */
  ours: number;
  raw: number;
  runs: number;
}

const TEMPLATE_NAMESPACE = 'bench-list-template';
const NAMESPACE = 'bench-list';
/** Above helm's default --max of 256. */
const MAX = 10_000;

export interface ReleaseSeeder {
  /** Adds releases until `total` are stored. */
  growTo(total: number): void;
}

/** Installs one release with the real helm, checks and decodes its Secret, then uninstalls it. */
export async function releaseSeeder(bench: BenchStack): Promise<ReleaseSeeder> {
  const { cluster, stack } = bench;
  const chart = stack.repo.charts[0].name;
  await bench.helm(['repo', 'add', '--force-update', '--', 'bench-list', stack.repo.url]);
  await bench.helm(['install', `--namespace=${TEMPLATE_NAMESPACE}`, '--create-namespace', '--', 'template', `bench-list/${chart}`]);
  const [secret] = cluster.store.list({ resource: 'secrets', namespace: TEMPLATE_NAMESPACE }, { fieldSelector: `type=${RELEASE_SECRET_TYPE}` }) as unknown as ReleaseSecret[];
  if (!secret) throw new Error('helm install wrote no release Secret');
  const template = readRelease(secret);
  await bench.helm(['uninstall', `--namespace=${TEMPLATE_NAMESPACE}`, '--', 'template']);
  cluster.store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
  let stored = 0;
  return {
    growTo(total) {
      for (; stored < total; stored++) {
        const name = `bench-${stored}`;
        cluster.store.create(releaseSecret({ ...template, name, namespace: NAMESPACE }, secret));
      }
    },
  };
}

export async function benchHelmList(bench: BenchStack, seeder: ReleaseSeeder, releases: number, runs: number): Promise<HelmListOutcome> {
  seeder.growTo(releases);
  const ours = async () => {
    const { releases: listed } = await bench.call<{ releases: unknown[] }>('helm', '/list', { allNamespaces: true, max: MAX });
    if (listed.length !== releases) throw new Error(`the helm function listed ${listed.length} releases, ${releases} are stored`);
  };
  const raw = async () => {
    const listed = JSON.parse(await bench.helm(listArgs({ allNamespaces: true, max: MAX }))) as unknown[] | null;
    if ((listed?.length ?? 0) !== releases) throw new Error(`helm list listed ${listed?.length ?? 0} releases, ${releases} are stored`);
  };
  await ours();
  await raw();
  const times = { ours: [] as number[], raw: [] as number[] };
  for (let i = 0; i < runs; i++) {
    times.raw.push((await timed(raw)).ms);
    times.ours.push((await timed(ours)).ms);
  }
  return { releases, ours: median(times.ours), raw: median(times.raw), runs };
}
