// A seeded corpus of hostile requests for every route of every function. Each request starts from a
// payload the route accepts (tests/security/hostile-input.test.ts proves that) and carries at least
// one defect: a wrong type, a missing or unknown field, a name that is not a DNS-1123 label, argv
// injection, an SSRF-prone repository URL, a port or namespace outside policy, a body that is not a
// JSON object, too deep, too large or compressed, a wrong method or an unknown path. Each defect
// names the error codes that may answer it.
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import type { ErrorCode } from '#runtime/errors.js';
import dexSchema from '../../functions/deploy-and-expose/schema.json' with { type: 'json' };
import helmSchema from '../../functions/helm/schema.json' with { type: 'json' };
import ingressSchema from '../../functions/ingress-rule/schema.json' with { type: 'json' };
import lookupSchema from '../../functions/port-lookup/schema.json' with { type: 'json' };
import undeploySchema from '../../functions/undeploy/schema.json' with { type: 'json' };

export type FunctionName = 'helm' | 'port-lookup' | 'ingress-rule' | 'deploy-and-expose' | 'undeploy';
/** strict: every allow-list set; open: no allow-lists, so only the built-in URL rules stand. */
export type Policy = 'strict' | 'open';
type Json = Record<string, unknown>;

/** The environment of the strict gateway (the open one leaves these empty). */
export const STRICT_POLICY = {
  ALLOWED_REPOS: 'https://charts.example.com/',
  ALLOWED_CHARTS: 'app,tenant/*',
  ALLOWED_NAMESPACES: 'tenant-a,tenant-b',
  ALLOW_PRIVATE_REPO_HOSTS: 'false',
  PORT_RANGE: '30000-30999',
} as const;
export const AUTH_SECRET_NAME = 'helm-deployer-token';
const REPO = 'https://charts.example.com/stable';

export interface HostileCase {
  /** Group for the figures: the function, or "helm (open repos)". */
  label: string;
  /** The route the case was made from: "<fn> <path>". */
  route: string;
  fn: FunctionName;
  policy: Policy;
  method: string;
  /** Path after /function/<fn>. */
  path: string;
  query?: Record<string, string>;
  body?: Buffer;
  chunked?: boolean;
  headers?: Record<string, string>;
  defect: string;
  /** Codes that may answer this request. */
  expect: readonly ErrorCode[];
}

interface Mutation {
  note: string;
  apply(body: Json): void;
  expect: readonly ErrorCode[];
  /** A bad value that stays bad whatever else the body holds (safe to combine with others). */
  combinable: boolean;
}

export interface Route {
  fn: FunctionName;
  policy: Policy;
  path: string;
  /** Methods the route accepts. */
  methods: readonly string[];
  /** Where the route reads its input (GET routes: the query string). */
  via: 'body' | 'query';
  method: string;
  base: Json;
  /** Property names the route accepts (unknown ones are a defect). */
  known: ReadonlySet<string>;
  /** Whether a call without body passes validation (no required fields). */
  emptyBodyValid: boolean;
  mutations: Mutation[];
  random: fc.Arbitrary<Mutation>[];
}

const INVALID = ['INVALID_INPUT'] as const;
/** A random address is malformed, or well formed but no controller's. */
const LBIP_REFUSED = ['INVALID_INPUT', 'INGRESS_CONTROLLER_NOT_FOUND'] as const;
/** Stands for a number JSON.stringify cannot write; the body carries 1e400 in its place. */
const RAW_HUGE_NUMBER = 'RAW_HUGE_NUMBER';
const FORBIDDEN = ['FORBIDDEN_BY_POLICY'] as const;
const REFUSED = ['INVALID_INPUT', 'FORBIDDEN_BY_POLICY'] as const;

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...(${text.length})` : text;
}

// Own data properties, so "__proto__" is a plain key as it is after JSON.parse.
function setOwn(target: Json, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function setPath(body: Json, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = body;
  for (const part of parts.slice(0, -1)) node = node[part] as Json;
  setOwn(node, parts[parts.length - 1], value);
}

function deletePath(body: Json, path: string): void {
  const parts = path.split('.');
  let node = body;
  for (const part of parts.slice(0, -1)) node = node[part] as Json;
  delete node[parts[parts.length - 1]];
}

const values = (path: string, list: readonly unknown[], expect: readonly ErrorCode[]): Mutation[] =>
  list.map((value) => ({ note: `${path}=${show(value)}`, apply: (b) => setPath(b, path, value), expect, combinable: true }));

const randomValues = (path: string, arb: fc.Arbitrary<unknown>, expect: readonly ErrorCode[]): fc.Arbitrary<Mutation> =>
  arb.map((value) => ({ note: `${path}=${show(value)} (random)`, apply: (b: Json) => setPath(b, path, value), expect, combinable: true }));

const edit = (note: string, apply: (b: Json) => void, expect: readonly ErrorCode[]): Mutation => ({ note, apply, expect, combinable: false });

// ---------------------------------------------------------------------------------------------
// Bad values

const ARGV_INJECTION = [
  '--post-renderer=/bin/sh',
  '-f',
  '--kubeconfig=/etc/x',
  '--set-file',
  '--set=a=b',
  '--dry-run',
  '-n',
  '--namespace=kube-system',
  '--',
  '-',
  '--all-namespaces',
  '--debug',
  '--kube-context=prod',
  '--registry-config=/etc/passwd',
  '--repository-config=/tmp/x',
];
const SHELL = ['$(id)', '`id`', 'a;id', 'a&&id', 'a|id', 'a>x', "a'b", 'a"b', 'a\\b', '${IFS}'];
const SPACES = ['', ' ', ' a', 'a ', 'a b', 'a\nb', 'a\rb', 'a\tb', 'a\u0000b', 'a\u007fb', 'a\u2028b', 'ünïcödé', 'a\u200bb'];
const PATHS = ['../etc/passwd', '/etc/passwd', './app', '..', '.', '~root'];
const NOT_STRINGS = [0, 1, -1, 1.5, true, false, null, [], ['web'], {}, { name: 'web' }];

const badLabels = (max: number): unknown[] => [
  'Web',
  'WEB',
  '-web',
  'web-',
  'web.app',
  'web_app',
  'a'.repeat(max + 1),
  'a'.repeat(max + 50),
  ...ARGV_INJECTION,
  ...SHELL,
  ...SPACES,
  ...PATHS,
  ...NOT_STRINGS,
];
const stringsOnly = (list: unknown[]): string[] => list.filter((v): v is string => typeof v === 'string');

const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}[a-z0-9]$/);
const badLabelArb = (max: number): fc.Arbitrary<unknown> =>
  fc.oneof(
    label.map((s) => s.toUpperCase()),
    label.map((s) => `-${s}`),
    label.map((s) => `${s}-`),
    fc.tuple(label, label).map(([a, b]) => `${a}.${b}`),
    fc.tuple(label, fc.constantFrom('_', ' ', '\n', '\u0000', '/', ':', '@', '$', '*', 'É', '\t', '%'), label).map(([a, c, b]) => a + c + b),
    fc.integer({ min: max + 1, max: max + 300 }).map((n) => 'x'.repeat(n)),
    fc.constantFrom(...ARGV_INJECTION, ...SHELL),
    fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(label, { maxLength: 2 }), fc.dictionary(label, label, { maxKeys: 2 })),
  );
const badLabelQueryArb = (max: number): fc.Arbitrary<unknown> => badLabelArb(max).filter((v) => typeof v === 'string');

const NAMESPACES_OUTSIDE_POLICY = ['kube-system', 'default', 'kube-public', 'openfaas-fn', 'tenant-c', 'ingress-nginx'];
const namespaceOutsideArb = label.filter((s) => s !== 'tenant-a' && s !== 'tenant-b');

const BAD_CHART_NAMES = [
  ...ARGV_INJECTION,
  'my app',
  'app\n',
  'app\u0000',
  'app\r\n--debug',
  ' app',
  'app/',
  '/app',
  'a/b/c',
  '../../etc/passwd',
  '/etc/passwd',
  'file:///etc/passwd',
  'http://169.254.169.254/latest',
  'https://charts.example.com/app-1.0.0.tgz',
  'oci://',
  'oci://-host/x',
  'oci://host',
  '$(id)',
  '`id`',
  'app;id',
  'a'.repeat(129),
  '',
  ...NOT_STRINGS,
];
const CHARTS_OUTSIDE_POLICY = ['other', 'App', 'app2', 'stable/app', 'evil/app', 'tenant', 'nginx-ingress', 'stable/nginx-ingress'];
const chartOutsideArb = fc.oneof(label, fc.tuple(label, label).map(([r, c]) => `${r}/${c}`)).filter((s) => s !== 'app' && !s.startsWith('tenant/'));

const REPOS_OUTSIDE_POLICY = [
  'file:///etc/passwd',
  'gopher://127.0.0.1:6379/_INFO',
  'ftp://charts.example.com/',
  'javascript:alert(1)',
  'data:text/plain,x',
  'http://169.254.169.254/latest/meta-data/',
  'http://[::1]/',
  'http://localhost/',
  'http://127.0.0.1:8879/',
  'https://user:pass@charts.example.com/',
  'https://charts.example.com@evil.test/',
  'https://charts.example.com.evil.test/',
  'http://charts.example.com/',
  'https://evil.test/charts.example.com/',
  'https://charts.example.com\\@evil.test/',
  ' https://charts.example.com/',
  'https://charts.example.com/\n',
  'https://charts.example.com/\u0000',
  '//charts.example.com/',
  'charts.example.com',
  '',
  'https://',
  `https://charts.example.com/${'a'.repeat(2048)}`,
  1,
  null,
  [],
  {},
];
const repoOutsideArb = fc
  .webUrl({ validSchemes: ['http', 'https'], withQueryParameters: true, withFragments: true })
  .filter((u) => !u.startsWith('https://charts.example.com/'));

// Hosts a repository URL must never reach, whatever the allow-lists say (cloud metadata, loopback,
// private and link-local networks, in the spellings URL parsers normalise).
const SSRF_REPOS = [
  'http://169.254.169.254/',
  'http://169.254.169.254/latest/meta-data/iam/',
  'http://[fd00:ec2::254]/',
  'http://100.100.100.200/',
  'http://metadata.google.internal/computeMetadata/v1/',
  'http://metadata/',
  'http://instance-data/',
  'http://169.254.170.2/v2/credentials',
  'http://[fe80::1]/',
  'http://localhost/',
  'http://LOCALHOST:8080/',
  'http://foo.localhost/',
  'http://localhost./',
  'http://127.0.0.1/',
  'http://127.1/',
  'http://2130706433/',
  'http://0x7f000001/',
  'http://0177.0.0.1/',
  'http://0.0.0.0/',
  'http://0/',
  'http://[::1]/',
  'http://[::]/',
  'http://[::ffff:127.0.0.1]/',
  'http://[0:0:0:0:0:ffff:7f00:1]/',
  'http://10.0.0.1/',
  'http://172.16.0.1/',
  'http://192.168.1.1/',
  'http://100.64.0.1/',
  'http://[fc00::1]/',
  'https://user:pw@charts.example.com/',
  'file:///etc/passwd',
  'gopher://localhost:70/',
];
const SSRF_OCI_CHARTS = [
  'oci://169.254.169.254/charts/app',
  'oci://localhost/charts/app',
  'oci://localhost:5000/charts/app',
  'oci://127.0.0.1:5000/charts/app',
  'oci://2130706433/charts/app',
  'oci://0x7f000001/charts/app',
  'oci://10.0.0.1/charts/app',
  'oci://metadata.google.internal/charts/app',
  'oci://192.168.0.10:5000/a/b',
  'oci://LOCALHOST/a',
];
const octet = fc.integer({ min: 0, max: 255 });
const privateIpv4 = fc.oneof(
  fc.tuple(fc.constant(10), octet, octet, octet),
  fc.tuple(fc.constant(127), octet, octet, octet),
  fc.tuple(fc.constant(192), fc.constant(168), octet, octet),
  fc.tuple(fc.constant(172), fc.integer({ min: 16, max: 31 }), octet, octet),
  fc.tuple(fc.constant(169), fc.constant(254), octet, octet),
  fc.tuple(fc.constant(100), fc.integer({ min: 64, max: 127 }), octet, octet),
  fc.tuple(fc.constant(0), octet, octet, octet),
);
const ssrfRepoArb = fc
  .tuple(
    fc.constantFrom('http', 'https'),
    privateIpv4,
    fc.constantFrom('dotted', 'decimal', 'hex', 'mapped'),
    fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    fc.constantFrom('/', '/charts', '/index.yaml'),
  )
  .map(([scheme, [a, b, c, d], form, port, path]) => {
    const n = ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
    const host =
      form === 'decimal'
        ? String(n)
        : form === 'hex'
          ? `0x${n.toString(16)}`
          : form === 'mapped'
            ? `[::ffff:${a}.${b}.${c}.${d}]`
            : `${a}.${b}.${c}.${d}`;
    return `${scheme}://${host}${port === undefined ? '' : `:${port}`}${path}`;
  });

const BAD_SECRETS = [AUTH_SECRET_NAME, 'missing-creds', '../helm-deployer-token', '.', '..', '.hidden', 'a/b', '/etc/passwd', '-x', '--password=x', 'a b', '', 'a'.repeat(254), 1, null, true];
const BAD_VERSIONS = ['$(id)', '1.0;id', '1.0\n', '`id`', 'a'.repeat(65), '', '1.0\u0000', '1.0/..', '1.0#x', '1.0@sha', 1, 1.5, null, true, [], {}];
const badVersionArb = fc
  .tuple(fc.stringMatching(/^[0-9.]{0,6}$/), fc.constantFrom(';', '$', '`', '/', '\\', '#', '@', '\n', '"', "'", '(', ')', '[', ']', '{', '}', '?', '\u0000'))
  .map(([v, c]) => `${v}${c}${v}`);
const thousandAndOne = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, i]));
const BAD_VALUES = [
  { '--kubeconfig': '/etc/x' },
  { '-f': 'x' },
  { '-': 'x' },
  { 'a\u0000b': 1 },
  { 'a\nb': 1 },
  { '\u007f': 1 },
  { k: { nested: 1 } },
  { k: [1, 2] },
  { k: 'x'.repeat(65537) },
  { ['k'.repeat(257)]: 1 },
  { 'a..b': 1 },
  { '.a': 1 },
  { 'a.': 1 },
  { a: 1, 'a.b': 2 },
  thousandAndOne,
  'a=b,c=d',
  ['a=b'],
  1,
  true,
  null,
];
const badValuesArb = fc.oneof(
  fc.tuple(fc.constantFrom('-', '--', '\u0000', '\n', '\u001b'), label, fc.oneof(fc.string(), fc.integer())).map(([p, k, v]) => ({ [`${p}${k}`]: v })),
  fc.tuple(label, fc.oneof(fc.array(fc.integer(), { minLength: 1, maxLength: 3 }), fc.dictionary(label, fc.integer(), { minKeys: 1, maxKeys: 2 }))).map(([k, v]) => ({ [k]: v })),
);
const BAD_VALUES_OBJECTS = ['x', 1, [], [1], true, null];
const BAD_TIMEOUTS = [0, -1, 3601, 1.5, '0s', '1d', '5 m', '1h1h', '-5s', '99h', '', 'abc', '5m;id', true, null, [], {}, 1e9];
const BAD_WAITS = ['yes', 'Watcher', 'atomic', '', 1, 0, null, [], {}];
const BAD_BOOLEANS = ['true', 'false', 1, 0, null, [], {}, 'yes'];
const badRevisions = (min: number) => [min - 1, -1, 1.5, '1', 1000001, null, true, []];
const BAD_MAX = [0, -1, 10001, 1.5, '5', null, true];
const BAD_OFFSETS = [-1, 1.5, '0', 1000001, null];
const BAD_FILTERS = ['a\u0000', 'x'.repeat(257), 5, null, [], 'a\nb'];
const BAD_PORTS = [0, 65536, -1, '80', '30001', 1.5, null, true, [], {}, 1e10, -0.5, 99999, 70000];
const badPortArb = fc.oneof(
  fc.integer({ min: 65536 }),
  fc.integer({ max: 0 }),
  fc.double({ min: 1.0001, max: 65534.9, noNaN: true }).filter((n) => !Number.isInteger(n)),
  fc.integer({ min: 1, max: 65535 }).map(String),
);
const PORTS_OUTSIDE_POLICY = [80, 443, 442, 8181, 10254, 10245, 22, 1, 29999, 31000, 65535];
const portOutsideArb = fc.oneof(fc.integer({ min: 1, max: 29999 }), fc.integer({ min: 31000, max: 65535 }));
const BAD_PROTOCOLS = ['sctp', 'SCTP', 'TCP', 'UDP', 'Tcp', '', 'tcp ', 'http', 1, null, [], true];
const BAD_LBIPS = ['not-an-ip', '1.2.3.4/24', '999.999.1.1', '1.2.3', '::1::', 'http://203.0.113.10', '203.0.113.10:80', ' 203.0.113.10', '203.0.113.10\n', 'localhost', 'a'.repeat(254), '', '-a.b', 'a..b', 'a.b.', 1, null, [], {}];
const UNKNOWN_LBIPS = ['198.51.100.7', 'unknown.example.com', '::1', '2001:db8::1'];
const badLbipArb = badLabelArb(253);
const NUMBERS_IN_QUERY = ['abc', '-1', '1.5', '0x10', '', '1e3', '99999999999', ' 5', '5 '];

const UNKNOWN_KEYS = ['__proto__', 'constructor', 'prototype', 'kubeconfig', '--kubeconfig', 'postRenderer', 'setFile', 'kubeContext', 'valuesFile', 'NameSpace', 'namespace ', '', 'registryConfig'];

// ---------------------------------------------------------------------------------------------
// Routes

const propertiesOf = (schema: { properties?: object }) => Object.keys(schema.properties ?? {});
const helmDefs = helmSchema.$defs as unknown as Record<string, { properties?: object; required?: string[] }>;
const ingressDefs = ingressSchema.$defs as unknown as Record<string, { properties?: object; required?: string[] }>;

interface Spec {
  fixed: Mutation[];
  random: fc.Arbitrary<Mutation>[];
}

function nameFields(path: string, max: number): Spec {
  return { fixed: values(path, badLabels(max), INVALID), random: [randomValues(path, badLabelArb(max), INVALID)] };
}

/** Malformed namespaces, and well-formed ones outside the strict policy. */
function namespaceFields(path: string): Spec {
  const names = nameFields(path, 63);
  return {
    fixed: [...names.fixed, ...values(path, NAMESPACES_OUTSIDE_POLICY, FORBIDDEN)],
    random: [...names.random, randomValues(path, namespaceOutsideArb, FORBIDDEN)],
  };
}

function merge(...specs: Spec[]): Spec {
  return { fixed: specs.flatMap((s) => s.fixed), random: specs.flatMap((s) => s.random) };
}
const only = (fixed: Mutation[], random: fc.Arbitrary<Mutation>[] = []): Spec => ({ fixed, random });

/** The fields of a helm install (also passed through by deploy-and-expose). */
function chartFields(): Spec {
  return merge(
    // A random name is either malformed or, when well formed, not on the strict chart allow-list.
    only(values('chartName', BAD_CHART_NAMES, INVALID), [randomValues('chartName', badLabelArb(200), REFUSED)]),
    only(values('chartName', CHARTS_OUTSIDE_POLICY, FORBIDDEN), [randomValues('chartName', chartOutsideArb, FORBIDDEN)]),
    nameFields('releaseName', 53),
    namespaceFields('namespace'),
    only(values('version', BAD_VERSIONS, INVALID), [randomValues('version', badVersionArb, INVALID)]),
    only(values('values', BAD_VALUES, INVALID), [randomValues('values', badValuesArb, INVALID)]),
    only(values('valuesObject', BAD_VALUES_OBJECTS, INVALID)),
    only(values('privateChartsRepo', REPOS_OUTSIDE_POLICY, REFUSED), [randomValues('privateChartsRepo', repoOutsideArb, REFUSED)]),
    only(values('repoCredentialsSecret', BAD_SECRETS, INVALID)),
    only(values('timeout', BAD_TIMEOUTS, INVALID)),
    only(values('wait', BAD_WAITS, INVALID)),
    only(values('rollbackOnFailure', BAD_BOOLEANS, INVALID)),
  );
}

// Defects that only show in combination with the base payload, e.g. the namespace left out (the
// default namespace is outside the strict policy).
function namespaceEdits(): Mutation[] {
  return [
    edit('namespace omitted (default namespace is outside the policy)', (b) => deletePath(b, 'namespace'), FORBIDDEN),
    edit('nameSpace=kube-system instead of namespace', (b) => (deletePath(b, 'namespace'), setOwn(b, 'nameSpace', 'kube-system')), FORBIDDEN),
    edit('nameSpace differs from namespace', (b) => setOwn(b, 'nameSpace', 'tenant-b'), INVALID),
    ...values('nameSpace', badLabels(63), INVALID),
  ];
}

function helmRoutes(): Route[] {
  const install = { chartName: 'app', releaseName: 'web', namespace: 'tenant-a', version: '1.0.0', privateChartsRepo: REPO, values: { replicaCount: 2, 'image.tag': '1.2' }, valuesObject: { service: { type: 'ClusterIP' } }, timeout: '5m', wait: true, rollbackOnFailure: true };
  const release = { releaseName: 'web', namespace: 'tenant-a' };
  const known = (def: string) => new Set(propertiesOf(helmDefs[def]));
  const required = (def: string) => helmDefs[def].required ?? [];
  const missing = (def: string): Mutation[] => required(def).map((f) => edit(`${f} missing`, (b) => deletePath(b, f), INVALID));
  const route = (path: string, def: string, methods: string[], base: Json, spec: Spec, via: 'body' | 'query' = 'body'): Route => ({
    fn: 'helm',
    policy: 'strict',
    path,
    methods,
    via,
    // /delete is called with DELETE, as REST clients of the original API did.
    method: via === 'query' ? 'GET' : path === '/delete' ? 'DELETE' : 'POST',
    base,
    known: known(def),
    emptyBodyValid: required(def).length === 0,
    mutations: [...spec.fixed, ...(via === 'body' ? missing(def) : [])],
    random: spec.random,
  });

  const installSpec = merge(chartFields(), only(namespaceEdits()));
  const upgradeSpec = merge(
    installSpec,
    only([
      ...values('install', BAD_BOOLEANS, INVALID),
      ...values('reuseValues', BAD_BOOLEANS, INVALID),
      ...values('reuseValue', BAD_BOOLEANS, INVALID),
      edit('reuseValue differs from reuseValues', (b) => (setOwn(b, 'reuseValues', true), setOwn(b, 'reuseValue', false)), INVALID),
    ]),
  );
  const releaseSpec = merge(nameFields('releaseName', 53), namespaceFields('namespace'), only(namespaceEdits()));
  const timed = only([...values('timeout', BAD_TIMEOUTS, INVALID), ...values('wait', BAD_WAITS, INVALID)]);
  const listSpec = merge(
    namespaceFields('namespace'),
    only([
      ...values('allNamespaces', BAD_BOOLEANS, INVALID),
      ...values('allNamespaces', [true], FORBIDDEN),
      ...values('filter', BAD_FILTERS, INVALID),
      ...values('max', BAD_MAX, INVALID),
      ...values('offset', BAD_OFFSETS, INVALID),
      edit('namespace omitted (default namespace is outside the policy)', (b) => deletePath(b, 'namespace'), FORBIDDEN),
    ]),
  );

  // GET: the same fields as strings in the query.
  const query = (fields: Record<string, unknown[]>, extra: Mutation[] = []): Spec => ({
    fixed: [
      ...Object.entries(fields).flatMap(([f, list]) => values(f, list, INVALID)),
      ...values('namespace', NAMESPACES_OUTSIDE_POLICY, FORBIDDEN),
      ...extra,
    ],
    random: [
      ...Object.keys(fields)
        .filter((f) => f === 'releaseName' || f === 'namespace')
        .map((f) => randomValues(f, badLabelQueryArb(f === 'releaseName' ? 53 : 63), INVALID)),
      randomValues('namespace', namespaceOutsideArb, FORBIDDEN),
    ],
  });
  const nsQuery = stringsOnly(badLabels(63));
  const relQuery = stringsOnly(badLabels(53));

  return [
    route('/install', 'install', ['POST'], install, installSpec),
    route('/', 'install', ['POST'], install, installSpec),
    route('/upgrade', 'upgrade', ['POST'], { ...install, install: true, reuseValues: false }, upgradeSpec),
    route('/uninstall', 'uninstall', ['POST', 'DELETE'], { ...release, timeout: 60, wait: false }, merge(releaseSpec, timed)),
    route('/delete', 'uninstall', ['POST', 'DELETE'], { ...release, timeout: '90s' }, merge(releaseSpec, timed)),
    route('/list', 'list', ['GET', 'POST'], { namespace: 'tenant-a', filter: '^web', max: 10, offset: 0 }, listSpec),
    route('/status', 'status', ['GET', 'POST'], { ...release, revision: 1 }, merge(releaseSpec, only(values('revision', badRevisions(1), INVALID)))),
    route('/history', 'history', ['GET', 'POST'], { ...release, max: 5 }, merge(releaseSpec, only(values('max', BAD_MAX, INVALID)))),
    route('/rollback', 'rollback', ['POST'], { ...release, revision: 1, timeout: 120 }, merge(releaseSpec, timed, only(values('revision', badRevisions(0), INVALID)))),
    route(
      '/list',
      'list',
      ['GET', 'POST'],
      { namespace: 'tenant-a', max: '10', offset: '0' },
      query({ namespace: nsQuery, max: [...NUMBERS_IN_QUERY, '0', '10001'], offset: NUMBERS_IN_QUERY, allNamespaces: ['yes', 'TRUE', '1', ''], filter: ['x'.repeat(257), 'a\nb'] }, [
        ...values('allNamespaces', ['true'], FORBIDDEN),
      ]),
      'query',
    ),
    route('/status', 'status', ['GET', 'POST'], { ...release, revision: '1' }, query({ releaseName: relQuery, namespace: nsQuery, revision: [...NUMBERS_IN_QUERY, '0', '1000001'] }), 'query'),
    route('/history', 'history', ['GET', 'POST'], { ...release, max: '5' }, query({ releaseName: relQuery, namespace: nsQuery, max: [...NUMBERS_IN_QUERY, '0'] }), 'query'),
  ];
}

/** helm with no allow-lists: repository URLs and oci:// hosts meet only the built-in SSRF rules. */
function openHelmRoutes(): Route[] {
  const base = { chartName: 'app', privateChartsRepo: 'https://charts.example.com/', releaseName: 'web', namespace: 'tenant-a' };
  const spec: Spec = {
    fixed: [
      ...values('privateChartsRepo', SSRF_REPOS, REFUSED),
      ...values('repoCredentialsSecret', BAD_SECRETS, INVALID),
      ...SSRF_OCI_CHARTS.map((chart) => edit(`chartName=${chart}`, (b) => (deletePath(b, 'privateChartsRepo'), setOwn(b, 'chartName', chart)), FORBIDDEN)),
    ],
    random: [randomValues('privateChartsRepo', ssrfRepoArb, REFUSED)],
  };
  return (['/install', '/upgrade'] as const).map((path) => ({
    fn: 'helm',
    policy: 'open',
    path,
    methods: ['POST'],
    via: 'body',
    method: 'POST',
    base,
    known: new Set(propertiesOf(helmDefs[path.slice(1)])),
    emptyBodyValid: false,
    mutations: spec.fixed,
    random: spec.random,
  }));
}

function ingressRoutes(lbip: string): Route[] {
  const lbipSpec = (path: string): Spec =>
    only([...values(path, BAD_LBIPS, INVALID), ...values(path, UNKNOWN_LBIPS, ['INGRESS_CONTROLLER_NOT_FOUND'])], [randomValues(path, badLbipArb, LBIP_REFUSED)]);
  const portSpec = (path: string, policed: boolean): Spec =>
    merge(
      only(values(path, BAD_PORTS, INVALID), [randomValues(path, badPortArb, INVALID)]),
      policed ? only(values(path, PORTS_OUTSIDE_POLICY, FORBIDDEN), [randomValues(path, portOutsideArb, FORBIDDEN)]) : only([]),
    );
  const protocolSpec = only(values('protocol', BAD_PROTOCOLS, INVALID));
  const create: Json = { serviceName: 'web', servicePort: 8080, namespace: 'tenant-a', protocol: 'tcp', port: 30010, lbip, releaseName: 'web' };
  const createSpec = merge(
    nameFields('serviceName', 63),
    only(values('serviceName', ['1web', '9', '0-web'], INVALID)),
    portSpec('servicePort', false),
    namespaceFields('namespace'),
    protocolSpec,
    portSpec('port', true),
    lbipSpec('lbip'),
    nameFields('releaseName', 53),
    only([
      ...['serviceName', 'servicePort', 'namespace'].map((f) => edit(`${f} missing`, (b) => deletePath(b, f), INVALID)),
      edit('servicePort 1e400 (no finite number)', (b) => setOwn(b, 'servicePort', RAW_HUGE_NUMBER), INVALID),
    ]),
  );
  const del: Json = { namespace: 'tenant-a', serviceName: 'web', servicePort: 8080, protocol: 'tcp', lbip };
  const deleteSpec = merge(
    nameFields('serviceName', 63),
    portSpec('servicePort', false),
    namespaceFields('namespace'),
    protocolSpec,
    portSpec('port', true),
    lbipSpec('lbip'),
    only([
      edit('namespace missing', (b) => deletePath(b, 'namespace'), INVALID),
      edit('serviceName missing', (b) => deletePath(b, 'serviceName'), INVALID),
      edit('neither port nor backend', (b) => ['namespace', 'serviceName', 'servicePort'].forEach((f) => deletePath(b, f)), INVALID),
    ]),
  );
  const route = (path: string, def: string, method: string, via: 'body' | 'query', base: Json, spec: Spec, emptyBodyValid: boolean): Route => ({
    fn: 'ingress-rule',
    policy: 'strict',
    path,
    methods: [method],
    via,
    method,
    base,
    known: new Set(propertiesOf(ingressDefs[def])),
    emptyBodyValid,
    mutations: spec.fixed,
    random: spec.random,
  });
  return [
    route('/create', 'create', 'POST', 'body', create, createSpec, false),
    route('/', 'create', 'POST', 'body', create, createSpec, false),
    route('/delete', 'delete', 'POST', 'body', del, deleteSpec, false),
    route(
      '/list',
      'list',
      'GET',
      'query',
      { lbip },
      only([...values('lbip', stringsOnly(BAD_LBIPS), INVALID), ...values('lbip', UNKNOWN_LBIPS, ['INGRESS_CONTROLLER_NOT_FOUND'])], [
        randomValues('lbip', badLbipArb.filter((v) => typeof v === 'string'), LBIP_REFUSED),
      ]),
      true,
    ),
    route('/repair', 'repair', 'POST', 'body', { dryRun: true }, only(values('dryRun', BAD_BOOLEANS, INVALID)), true),
  ];
}

function lookupRoutes(lbip: string): Route[] {
  const known = new Set(propertiesOf(lookupSchema));
  const base = { protocol: 'udp', lbip };
  const route = (via: 'body' | 'query', spec: Spec): Route => ({
    fn: 'port-lookup',
    policy: 'strict',
    path: '/',
    methods: ['GET', 'POST'],
    via,
    method: via === 'query' ? 'GET' : 'POST',
    base,
    known,
    emptyBodyValid: true,
    mutations: spec.fixed,
    random: spec.random,
  });
  const unknownLbip = values('lbip', UNKNOWN_LBIPS, ['INGRESS_CONTROLLER_NOT_FOUND']);
  return [
    route('body', only([...values('protocol', BAD_PROTOCOLS, INVALID), ...values('lbip', BAD_LBIPS, INVALID), ...unknownLbip], [randomValues('lbip', badLbipArb, LBIP_REFUSED)])),
    route(
      'query',
      only([...values('protocol', stringsOnly(BAD_PROTOCOLS), INVALID), ...values('lbip', stringsOnly(BAD_LBIPS), INVALID), ...unknownLbip], [
        randomValues('protocol', fc.string({ maxLength: 8 }).filter((s) => s !== 'tcp' && s !== 'udp'), INVALID),
        randomValues('lbip', badLbipArb.filter((v) => typeof v === 'string'), LBIP_REFUSED),
      ]),
    ),
  ];
}

function orchestratorRoutes(lbip: string): Route[] {
  const dexBase: Json = {
    chartName: 'app',
    privateChartsRepo: REPO,
    releaseName: 'web',
    namespace: 'tenant-a',
    version: '1.0.0',
    expose: { serviceName: 'web', servicePort: 8080, protocol: 'tcp', port: 30010, lbip },
  };
  const dexSpec = merge(
    chartFields(),
    only(namespaceEdits()),
    only([
      ...values('expose', ['x', 1, [], null, true], INVALID),
      edit('expose with an unknown property', (b) => setOwn(b.expose as Json, 'postRenderer', '/bin/sh'), INVALID),
      edit('chartName missing', (b) => deletePath(b, 'chartName'), INVALID),
    ]),
    nameFields('expose.serviceName', 63),
    only(values('expose.servicePort', BAD_PORTS, INVALID), [randomValues('expose.servicePort', badPortArb, INVALID)]),
    only(values('expose.protocol', BAD_PROTOCOLS, INVALID)),
    only(values('expose.lbip', BAD_LBIPS, INVALID)),
    only(values('expose.port', BAD_PORTS, INVALID), [randomValues('expose.port', badPortArb, INVALID)]),
    only(values('expose.port', PORTS_OUTSIDE_POLICY, FORBIDDEN), [randomValues('expose.port', portOutsideArb, FORBIDDEN)]),
  );
  const undeploySpec = merge(nameFields('releaseName', 53), namespaceFields('namespace'), only([edit('releaseName missing', (b) => deletePath(b, 'releaseName'), INVALID)]));
  return [
    {
      fn: 'deploy-and-expose',
      policy: 'strict',
      path: '/',
      methods: ['POST'],
      via: 'body',
      method: 'POST',
      base: dexBase,
      // Unknown fields are passed on to the helm function, which knows the install fields.
      known: new Set([...propertiesOf(dexSchema), ...propertiesOf(helmDefs.install)]),
      emptyBodyValid: false,
      mutations: dexSpec.fixed,
      random: dexSpec.random,
    },
    {
      fn: 'undeploy',
      policy: 'strict',
      path: '/',
      methods: ['POST'],
      via: 'body',
      method: 'POST',
      base: { releaseName: 'web', namespace: 'tenant-a' },
      known: new Set(propertiesOf(undeploySchema)),
      emptyBodyValid: false,
      mutations: undeploySpec.fixed,
      random: undeploySpec.random,
    },
  ];
}

export function allRoutes({ lbip }: { lbip: string }): Route[] {
  return [...helmRoutes(), ...openHelmRoutes(), ...ingressRoutes(lbip), ...lookupRoutes(lbip), ...orchestratorRoutes(lbip)];
}

// ---------------------------------------------------------------------------------------------
// Requests

const KNOWN_PATHS: Record<FunctionName, string[]> = {
  helm: ['/', '/install', '/upgrade', '/uninstall', '/delete', '/list', '/status', '/history', '/rollback'],
  'ingress-rule': ['/', '/create', '/delete', '/list', '/repair'],
  'port-lookup': ['/'],
  'deploy-and-expose': ['/'],
  undeploy: ['/'],
};
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const TWO_MIB = 2 * 1024 * 1024;

function bodyText(body: Json): string {
  return JSON.stringify(body).replace(`"${RAW_HUGE_NUMBER}"`, '1e400');
}

function labelOf(route: Route): string {
  return route.policy === 'open' ? `${route.fn} (open repos)` : route.fn;
}

function request(route: Route, defect: string, expect: readonly ErrorCode[], over: Partial<HostileCase> = {}): HostileCase {
  return { label: labelOf(route), route: `${route.fn} ${route.path}`, fn: route.fn, policy: route.policy, method: route.method, path: route.path, defect: `${route.method} ${route.path}: ${defect}`, expect, ...over };
}

function fromMutations(route: Route, mutations: Mutation[]): HostileCase {
  const body = structuredClone(route.base);
  for (const m of mutations) m.apply(body);
  const expect = [...new Set(mutations.flatMap((m) => m.expect))];
  const defect = mutations.map((m) => m.note).join(' + ');
  if (route.via === 'query') {
    const query: Record<string, string> = {};
    for (const [k, v] of Object.entries(body)) setOwn(query, k, String(v));
    return request(route, defect, expect, { query });
  }
  return request(route, defect, expect, { body: Buffer.from(bodyText(body)) });
}

function unknownKey(route: Route, key: string, value: unknown): HostileCase {
  return fromMutations(route, [{ note: `unknown property ${show(key)}`, apply: (b) => setOwn(b, key, value), expect: INVALID, combinable: false }]);
}

const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** Whole bodies that are not a JSON object of the route's shape. */
function bodyCases(route: Route): HostileCase[] {
  const raw = (text: string | Buffer, defect: string, expect: readonly ErrorCode[] = INVALID, over: Partial<HostileCase> = {}) =>
    request(route, defect, expect, { body: Buffer.isBuffer(text) ? text : Buffer.from(text), ...over });
  const base = bodyText(route.base);
  const cases = [
    ...['[]', '[{}]', `[${base}]`, '"string"', '""', '42', '-1', '3.14', 'true', 'false', 'null', JSON.stringify(base)].map((t) => raw(t, `body ${show(t)} is not an object`)),
    ...[
      '{',
      '{"a":',
      "{'a':1}",
      'undefined',
      'NaN',
      'Infinity',
      `${base}}`,
      `${base}${base}`,
      '<xml/>',
      'chartName=app&namespace=tenant-a',
      '\u0000',
      '{"a":1,}',
      '[1,]',
      '\ufeff\ufeff{}',
      '{"a":"\u0000"}',
      '// comment\n{}',
      base.slice(0, -1),
    ].map((t) => raw(t, `body ${show(t)} is not JSON`)),
    raw(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'body is not UTF-8'),
    raw(Buffer.from('\ufeff{}', 'utf16le'), 'body is UTF-16'),
    raw(deepArray(100_000), 'body is an array nested 100000 deep'),
    raw(`{"zz":${deepObject(50_000)}}`, 'unknown property holding an object nested 50000 deep'),
    raw(`{"zz":${deepArray(100_000)}}`, 'unknown property holding an array nested 100000 deep'),
    raw(`${base.slice(0, -1)},"zz":${deepObject(20_000)}}`, 'valid fields and an unknown property holding an object nested 20000 deep'),
    ...['gzip', 'deflate', 'br', 'x-custom'].map((enc) =>
      raw(gzipSync(base), `Content-Encoding: ${enc}`, ['UNSUPPORTED_MEDIA_TYPE'], { headers: { 'content-encoding': enc } }),
    ),
    raw(`{"zz":"${'a'.repeat(TWO_MIB)}"}`, '2 MiB body with Content-Length', ['PAYLOAD_TOO_LARGE']),
    raw(`{"zz":"${'a'.repeat(TWO_MIB)}"}`, '2 MiB body, chunked', ['PAYLOAD_TOO_LARGE'], { chunked: true }),
  ];
  if (!route.emptyBodyValid) cases.push(raw('', 'empty body'), raw('  \n\t', 'blank body'));
  if (route.known.has('valuesObject')) {
    const { valuesObject: _dropped, ...rest } = route.base;
    cases.push(raw(`${bodyText(rest).slice(0, -1)},"valuesObject":${deepObject(20_000)}}`, 'valuesObject nested 20000 deep'));
  }
  return cases;
}

function routeCases(route: Route): HostileCase[] {
  const withBody = (): Partial<HostileCase> =>
    route.via === 'query' ? { query: Object.fromEntries(Object.entries(route.base).map(([k, v]) => [k, String(v)])) } : { body: Buffer.from(bodyText(route.base)) };
  const wrongPaths = [
    '/nope',
    '/__proto__',
    '/constructor',
    '/toString',
    '/hasOwnProperty',
    '/valueOf',
    '/%00',
    '/x%2F..',
    '/admin',
    route.path === '/' ? '/index' : `${route.path}/extra`,
    route.path.toUpperCase() === route.path ? '/INDEX' : route.path.toUpperCase(),
  ].filter((p) => !KNOWN_PATHS[route.fn].includes(p));
  return [
    ...route.mutations.map((m) => fromMutations(route, [m])),
    ...UNKNOWN_KEYS.filter((k) => !route.known.has(k)).map((k) => unknownKey(route, k, route.via === 'query' ? 'x' : { a: 1 })),
    ...(route.via === 'body' ? bodyCases(route) : []),
    ...METHODS.filter((m) => !route.methods.includes(m)).map((method) =>
      request(route, `method ${method}`, ['METHOD_NOT_ALLOWED'], { method, ...(method === 'GET' ? {} : withBody()) }),
    ),
    ...wrongPaths.map((path) => request(route, `unknown path ${path}`, ['NOT_FOUND'], { path, method: route.method, ...withBody() })),
  ];
}

function notJson(text: string): boolean {
  const t = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (t.trim() === '') return false;
  try {
    JSON.parse(t);
    return false;
  } catch {
    return true;
  }
}

function randomArbitrary(route: Route): fc.Arbitrary<HostileCase> {
  const pool = route.mutations.filter((m) => m.combinable);
  const one = fc.oneof(...(pool.length > 0 ? [fc.constantFrom(...pool)] : []), ...route.random);
  const arbs: fc.WeightedArbitrary<HostileCase>[] = [
    { weight: 6, arbitrary: one.map((m) => fromMutations(route, [m])) },
    { weight: 2, arbitrary: fc.array(one, { minLength: 2, maxLength: 3 }).map((ms) => fromMutations(route, ms)) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.oneof(fc.constantFrom(...UNKNOWN_KEYS), fc.string({ maxLength: 16 })), route.via === 'query' ? fc.string({ maxLength: 8 }) : fc.jsonValue({ maxDepth: 2 }))
        .filter(([k]) => !route.known.has(k))
        .map(([k, v]) => unknownKey(route, k, v)),
    },
  ];
  if (route.via === 'body') {
    arbs.push({
      weight: 1,
      arbitrary: fc
        .oneof(
          fc.string({ minLength: 1, maxLength: 40, unit: 'binary' }).filter(notJson),
          fc.oneof(fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }), fc.string(), fc.integer(), fc.boolean()).map((v) => JSON.stringify(v)),
        )
        .map((text) => request(route, `body ${show(text)} is not a JSON object (random)`, INVALID, { body: Buffer.from(text) })),
    });
  }
  return fc.oneof(...arbs);
}

/**
 * Every fixed case of every route, then `randomPerRoute` cases per route drawn with fast-check from
 * `seed` (the same seed gives the same corpus).
 */
export function buildCorpus({ lbip, seed, randomPerRoute }: { lbip: string; seed: number; randomPerRoute: number }): HostileCase[] {
  const routes = allRoutes({ lbip });
  const fixed = routes.flatMap(routeCases);
  const random = routes.flatMap((route, i) => fc.sample(randomArbitrary(route), { seed: seed + i, numRuns: randomPerRoute }));
  return [...fixed, ...random];
}

/** One valid request per route: the base payload as is (it must get past validation and policy). */
export function baseRequests({ lbip }: { lbip: string }): HostileCase[] {
  return allRoutes({ lbip }).map((route) => ({ ...fromMutations(route, []), defect: `${route.method} ${route.path}: base payload`, expect: [] }));
}
