// A chart repository for tests: tiny charts made with the real `helm package`, an index made with
// `helm repo index`, served by node http with per-path request counts and optional basic auth.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

// A Service (TCP and UDP ports from values) and a Deployment; `fail: true` makes rendering fail and
// values.schema.json requires service.port to be an integer.
function writeChart(dir: string, spec: ChartSpec): string {
  const root = join(dir, `${spec.name}-${spec.version}`, spec.name);
  mkdirSync(join(root, 'templates'), { recursive: true });
  writeFileSync(
    join(root, 'Chart.yaml'),
    `apiVersion: v2\nname: ${spec.name}\nversion: ${spec.version}\nappVersion: "${spec.appVersion ?? '1.0'}"\n`,
  );
  writeFileSync(join(root, 'values.yaml'), 'service:\n  port: 80\n  udpPort: 53\nimage: nginx\nfail: false\n');
  writeFileSync(
    join(root, 'values.schema.json'),
    JSON.stringify({ type: 'object', properties: { service: { type: 'object', properties: { port: { type: 'integer' } } } } }),
  );
  writeFileSync(join(root, 'templates', 'NOTES.txt'), 'Release {{ .Release.Name }} of {{ .Chart.Name }}\n');
  writeFileSync(
    join(root, 'templates', 'service.yaml'),
    `{{- if .Values.fail }}{{ fail "failing on purpose" }}{{ end }}
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
  );
  writeFileSync(
    join(root, 'templates', 'deployment.yaml'),
    `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-{{ .Chart.Name }}
spec:
  replicas: 1
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
          ports:
            - containerPort: 8080
`,
  );
  return root;
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
