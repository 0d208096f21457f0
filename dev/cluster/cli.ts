/**
 * `npm run cluster -- [--port N] [--host H] [--kubeconfig FILE] [--lb-ip IP ...]`: runs the
 * emulator until SIGINT/SIGTERM, prints its URL and kubeconfig path. Faults and the request log
 * are reachable at /_emulator/faults and /_emulator/requests.
 */
import { parseArgs } from 'node:util';
import { startCluster } from './index.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    kubeconfig: { type: 'string' },
    'lb-ip': { type: 'string', multiple: true },
  },
  strict: true,
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid --port: ${values.port}`);
  process.exit(2);
}

const cluster = await startCluster({
  port,
  host: values.host,
  kubeconfigPath: values.kubeconfig,
  lbIpPool: values['lb-ip'],
});
console.log(cluster.url);
console.error(`kubeconfig: ${cluster.kubeconfigPath}`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void cluster.stop().then(() => process.exit(0));
  });
}
