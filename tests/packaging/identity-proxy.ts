// helm (client-go) sends no bearer token to a plain-HTTP API server, so the emulator would see it
// as system:anonymous. One small proxy per identity in front of the emulator stamps every request
// with that identity's token instead; each function's kubeconfig points at its own proxy.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface IdentityProxy {
  url: string;
  close(): Promise<void>;
}

export async function startIdentityProxy(target: string, user: string): Promise<IdentityProxy> {
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    const up = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host, authorization: `Bearer ${user}` },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    // Watches stream until one side leaves.
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
