// A local Helm chart repository (index.yaml + packaged charts over HTTP) for offline runs: charts
// are written from a small spec, packaged with the real helm (`helm package`, `helm repo index`)
// and served on 127.0.0.1. Use its URL as `privateChartsRepo` (with ALLOW_PRIVATE_REPO_HOSTS=true).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { resolveHelmBinary } from '#runtime/helm/binary.js';

export interface ChartPort {
  name: string;
  port: number;
  protocol?: 'TCP' | 'UDP';
}

export interface ChartService {
  /** Suffix of the Service name: `<release>-<suffix>`, or `<release>` when empty. */
  suffix?: string;
  type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  ports: ChartPort[];
}

export interface ChartSpec {
  name: string;
  version?: string;
  appVersion?: string;
  image?: string;
  services?: ChartService[];
}

/** The default demo chart: one Deployment and one Service with an MQTT (TCP) and a CoAP (UDP) port. */
export const IOT_GATEWAY_CHART: ChartSpec = {
  name: 'iot-gateway',
  version: '0.1.0',
  appVersion: '1.0.0',
  image: 'eclipse-mosquitto:2',
  services: [{ ports: [{ name: 'mqtt', port: 1883 }, { name: 'coap', port: 5683, protocol: 'UDP' }] }],
};

function serviceTemplate(service: ChartService): string {
  const name = service.suffix ? `{{ .Release.Name }}-${service.suffix}` : '{{ .Release.Name }}';
  const ports = service.ports
    .map((p) => `    - name: ${p.name}\n      port: ${p.port}\n      targetPort: ${p.port}\n      protocol: ${p.protocol ?? 'TCP'}`)
    .join('\n');
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  labels:
    app.kubernetes.io/name: {{ .Chart.Name }}
    app.kubernetes.io/instance: {{ .Release.Name }}
spec:
  type: ${service.type ?? 'ClusterIP'}
  selector:
    app.kubernetes.io/instance: {{ .Release.Name }}
  ports:
${ports}
`;
}

function deploymentTemplate(spec: ChartSpec): string {
  const ports = (spec.services ?? [])
    .flatMap((s) => s.ports)
    .map((p) => `            - name: ${p.name}\n              containerPort: ${p.port}\n              protocol: ${p.protocol ?? 'TCP'}`)
    .join('\n');
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels:
    app.kubernetes.io/name: {{ .Chart.Name }}
    app.kubernetes.io/instance: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      app.kubernetes.io/instance: {{ .Release.Name }}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {{ .Chart.Name }}
        app.kubernetes.io/instance: {{ .Release.Name }}
    spec:
      containers:
        - name: app
          image: "{{ .Values.image }}"
${ports ? `          ports:\n${ports}\n` : ''}`;
}

/** Writes the chart's source folder under dir; returns its path. */
export function writeChart(dir: string, spec: ChartSpec): string {
  const root = path.join(dir, spec.name);
  mkdirSync(path.join(root, 'templates'), { recursive: true });
  writeFileSync(
    path.join(root, 'Chart.yaml'),
    `apiVersion: v2\nname: ${spec.name}\nversion: ${spec.version ?? '0.1.0'}\nappVersion: "${spec.appVersion ?? '1.0.0'}"\ntype: application\n`,
  );
  writeFileSync(path.join(root, 'values.yaml'), `replicaCount: 1\nimage: ${spec.image ?? 'busybox:1.36'}\n`);
  writeFileSync(path.join(root, 'templates', 'deployment.yaml'), deploymentTemplate(spec));
  (spec.services ?? []).forEach((service, i) => {
    writeFileSync(path.join(root, 'templates', `service-${i}.yaml`), serviceTemplate(service));
  });
  return root;
}

export interface ChartRepo {
  /** Repository URL (index.yaml lives at <url>/index.yaml). */
  url: string;
  charts: { name: string; version: string }[];
  /** Requests served, e.g. ["/index.yaml", "/iot-gateway-0.1.0.tgz"]. */
  requests: string[];
  close(): Promise<void>;
}

export interface ChartRepoOptions {
  charts?: ChartSpec[];
  port?: number;
  host?: string;
  helmBinary?: string;
}

export async function startChartRepo({ charts = [IOT_GATEWAY_CHART], port = 0, host = '127.0.0.1', helmBinary }: ChartRepoOptions = {}): Promise<ChartRepo> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'helm-deployer-charts-'));
  const src = path.join(work, 'src');
  const out = path.join(work, 'repo');
  mkdirSync(out, { recursive: true });
  const helm = resolveHelmBinary({ helmBinary });
  // helm package / repo index need writable helm homes, never the user's.
  const env = {
    HELM_CACHE_HOME: path.join(work, 'cache'),
    HELM_CONFIG_HOME: path.join(work, 'config'),
    HELM_DATA_HOME: path.join(work, 'data'),
  };
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const name = path.basename(new URL(req.url ?? '/', 'http://repo.local').pathname);
    requests.push(`/${name}`);
    try {
      const body = readFileSync(path.join(out, name));
      res.writeHead(200, { 'content-type': name.endsWith('.yaml') ? 'application/yaml' : 'application/gzip', 'content-length': body.length });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const address = server.address() as AddressInfo;
    const url = `http://${host}:${address.port}`;
    for (const spec of charts) {
      await execa(helm, ['package', `--destination=${out}`, '--', writeChart(src, spec)], { env });
    }
    await execa(helm, ['repo', 'index', `--url=${url}`, '--', out], { env });
    return {
      url,
      charts: charts.map((c) => ({ name: c.name, version: c.version ?? '0.1.0' })),
      requests,
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => {
            rmSync(work, { recursive: true, force: true });
            resolve();
          });
        }),
    };
  } catch (err) {
    server.close();
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
}
