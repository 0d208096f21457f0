// A chart repository for tests: tiny charts made with the real `helm package`, an index made with
// `helm repo index`, served by node http with per-path request counts and optional basic auth.
// Also the pieces for writing other test charts' source folders.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const HELM = fileURLToPath(new URL('../../../../../.tools/bin/helm', import.meta.url));

export interface ChartSpec {
  name: string;
  version: string;
  appVersion?: string;
}

export interface ChartRepo {
  url: string;
  /** Requests seen per path ("/index.yaml", "/app-1.0.0.tgz"). */
  hits: Map<string, number>;
  /** Authorization headers seen. */
  authorizations: string[];
  addChart(spec: ChartSpec): Promise<void>;
  close(): Promise<void>;
}

export interface ChartFiles {
  name: string;
  /** Default 0.1.0. */
  version?: string;
  /** Default 1.0. */
  appVersion?: string;
  /** values.yaml */
  values: string;
  /** Files under templates/, by name. */
  templates: Record<string, string>;
  /** Other files by path from the chart's root, e.g. values.schema.json, crds/x.yaml. */
  files?: Record<string, string>;
}

/** Writes a chart's source folder at root; returns root. */
export function writeChartFiles(root: string, chart: ChartFiles): string {
  mkdirSync(join(root, 'templates'), { recursive: true });
  writeFileSync(join(root, 'Chart.yaml'), `apiVersion: v2\nname: ${chart.name}\nversion: ${chart.version ?? '0.1.0'}\nappVersion: "${chart.appVersion ?? '1.0'}"\n`);
  writeFileSync(join(root, 'values.yaml'), chart.values);
  for (const [name, text] of Object.entries(chart.templates)) writeFileSync(join(root, 'templates', name), text);
  for (const [file, text] of Object.entries(chart.files ?? {})) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  }
  return root;
}

/** A Deployment template: one container "app" with the image from values, Pods labelled app: <release>. */
export function deploymentTemplate({
  name = '{{ .Release.Name }}',
  replicas = '1',
  containerPort,
}: {
  /** Template text. */
  name?: string;
  /** Template text. */
  replicas?: string;
  containerPort?: number;
} = {}): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: ${replicas}
  selector:
    matchLabels:
      app: {{ .Release.Name }}
  template:
    metadata:
      labels:
        app: {{ .Release.Name }}
    spec:
      containers:
        - name: app
          image: {{ .Values.image }}
${containerPort === undefined ? '' : `          ports:\n            - containerPort: ${containerPort}\n`}`;
}

// A Service (TCP and UDP ports from values) and a Deployment; `fail: true` makes rendering fail and
// values.schema.json requires service.port to be an integer.
function writeChart(dir: string, spec: ChartSpec): string {
  return writeChartFiles(join(dir, `${spec.name}-${spec.version}`, spec.name), {
    ...spec,
    values: 'service:\n  port: 80\n  udpPort: 53\nimage: nginx\nfail: false\n',
    files: {
      'values.schema.json': JSON.stringify({ type: 'object', properties: { service: { type: 'object', properties: { port: { type: 'integer' } } } } }),
    },
    templates: {
      'NOTES.txt': 'Release {{ .Release.Name }} of {{ .Chart.Name }}\n',
      'service.yaml': `{{- if .Values.fail }}{{ fail "failing on purpose" }}{{ end }}
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-{{ .Chart.Name }}
spec:
  type: ClusterIP
  selector:
    app: {{ .Release.Name }}
  ports:
    - name: tcp
      port: {{ .Values.service.port }}
      targetPort: 8080
      protocol: TCP
    - name: udp
      port: {{ .Values.service.udpPort }}
      targetPort: 5353
      protocol: UDP
`,
      'deployment.yaml': deploymentTemplate({ name: '{{ .Release.Name }}-{{ .Chart.Name }}', containerPort: 8080 }),
    },
  });
}

export async function startChartRepo(options: { charts: ChartSpec[]; auth?: { username: string; password: string } }): Promise<ChartRepo> {
  const dir = mkdtempSync(join(tmpdir(), 'chart-repo-'));
  const served = join(dir, 'served');
  mkdirSync(served);
  const env = { HELM_CACHE_HOME: join(dir, 'c'), HELM_CONFIG_HOME: join(dir, 'f'), HELM_DATA_HOME: join(dir, 'd'), HOME: dir, PATH: process.env.PATH ?? '' };
  const hits = new Map<string, number>();
  const authorizations: string[] = [];
  const expected = options.auth ? `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}` : undefined;

  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (req.headers.authorization) authorizations.push(req.headers.authorization);
    if (expected && req.headers.authorization !== expected) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="charts"' }).end();
      return;
    }
    if (!/^\/[\w.-]+$/.test(path)) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = readFileSync(join(served, path.slice(1)));
      res.writeHead(200, { 'content-type': path.endsWith('.yaml') ? 'application/x-yaml' : 'application/gzip' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const addChart = async (spec: ChartSpec) => {
    await execa(HELM, ['package', '--destination', served, '--', writeChart(dir, spec)], { env, extendEnv: false });
    await execa(HELM, ['repo', 'index', `--url=${url}/`, '--', served], { env, extendEnv: false });
  };
  for (const spec of options.charts) await addChart(spec);

  return {
    url,
    hits,
    authorizations,
    addChart,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
