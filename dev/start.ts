// `npm start`: the functions on a local gateway (default http://127.0.0.1:8080, env PORT/HOST),
// against the cluster of KUBECONFIG / ~/.kube/config, or an EMULATED in-memory cluster when there
// is none or USE_EMBEDDED_CLUSTER is set. EXPOSURE_BACKEND=gateway-api makes the rules on a
// labelled Gateway the emulator serves instead of on its ingress-nginx controller. Prints a token
// and ready-to-copy curl commands, then one machine-readable line:
// `READY {"url":...,"token":...,"chartRepo":...,"cluster":...,"kubeconfig":...,"exposure":...}`.
// Ctrl-C stops everything and removes the temp files.
import { loadConfig } from '#runtime/config.js';
import { startDevStack } from './dev-stack.js';

function portOf(value: string | undefined): number {
  if (value === undefined || value === '') return 8080;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`PORT must be 0-65535, got ${value}`);
  return n;
}

const shellQuote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

const stack = await startDevStack({ port: portOf(process.env.PORT), host: process.env.HOST || '127.0.0.1' });
const { gateway, repo, auth, cluster, gatewayApi } = stack;
const chart = repo.charts[0];
const deployBody = JSON.stringify({
  chartName: chart.name,
  releaseName: 'demo',
  namespace: 'tenant-a',
  privateChartsRepo: repo.url,
});
const curl = (fn: string, body: string) =>
  [
    `curl -sS -X POST ${gateway.url}/function/${fn} \\`,
    `    -H 'Authorization: Bearer ${auth.token}' -H 'Content-Type: application/json' \\`,
    `    -d ${shellQuote(body)}`,
  ].join('\n');

const lines = [
  '',
  'helm deployer functions: local gateway',
  '',
  cluster
    ? `  cluster     EMULATED Kubernetes API (in memory: nothing really runs) at ${cluster.url}`
    : `  cluster     REAL cluster of ${stack.kubeconfig} (set USE_EMBEDDED_CLUSTER=1 to use the emulator)`,
  `  kubeconfig  ${stack.kubeconfig}`,
  ...(!cluster
    ? []
    : gatewayApi
      ? [`  gateway     ${gatewayApi.namespace}/${gatewayApi.name} (emulated Gateway API Gateway, appingress=${gatewayApi.label}) at ${gatewayApi.ip ?? '?'}`]
      : [`  ingress     ${stack.ingress.namespace}/${stack.ingress.serviceName} (emulated ingress-nginx) at ${stack.ingress.ip ?? '?'}`]),
  `  charts      ${repo.url}  (${repo.charts.map((c) => `${c.name} ${c.version}`).join(', ')}; use as privateChartsRepo)`,
  `  token       ${auth.token}`,
  `  functions   ${gateway.functions.map((f) => `${gateway.url}/function/${f}`).join('\n              ')}`,
  '',
  'Deploy and expose the demo chart:',
  '',
  `  ${curl('deploy-and-expose', deployBody)}`,
  '',
  'Remove it again:',
  '',
  `  ${curl('undeploy', JSON.stringify({ releaseName: 'demo', namespace: 'tenant-a' }))}`,
  '',
  'Async: POST to /async-function/<name> with an X-Callback-Url header. Ctrl-C stops everything.',
  '',
];
process.stdout.write(`${lines.join('\n')}\n`);
process.stdout.write(
  `READY ${JSON.stringify({
    url: gateway.url,
    token: auth.token,
    chartRepo: repo.url,
    chart: chart.name,
    cluster: cluster ? 'emulated' : 'external',
    clusterUrl: cluster?.url,
    kubeconfig: stack.kubeconfig,
    exposure: loadConfig(process.env).exposureBackend,
  })}\n`,
);

// Ctrl-C in a terminal reaches every process of the group (npm, tsx, this one), and wrappers may
// relay it once more: a repeat within a second is the same keypress, a later one forces the exit.
let stoppingSince = 0;
const stop = (signal: NodeJS.Signals) => {
  if (stoppingSince) {
    if (Date.now() - stoppingSince < 1000) return;
    process.stderr.write('forced exit\n');
    process.exit(130);
  }
  stoppingSince = Date.now();
  process.stderr.write(`\n${signal}: stopping...\n`);
  stack.close().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`error while stopping: ${String(err)}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
