// nock, loadable on Node 20 (see promise-with-resolvers.ts). Aborting a request that nock delays
// trips an assertion inside Node 20's undici, so timeouts are tested against a real server that
// never answers (hangingServer) instead of nock's delay().
import './promise-with-resolvers.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import { expect } from 'vitest';

export default nock;

/** For afterEach: every interceptor the test set up was used; none is left for the next test. */
export function expectAllMocksUsed(): void {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
}

export interface TestServer {
  url: string;
  close: () => Promise<void>;
}

/** A server that accepts requests and never answers them. */
export function hangingServer(): Promise<TestServer> {
  return jsonServer(() => undefined);
}

/** A real HTTP server answering every request with the status and JSON body returned by reply. */
export async function jsonServer(reply: (path: string) => { status: number; body: unknown } | undefined): Promise<TestServer> {
  const server: Server = createServer((req, res) => {
    const answer = reply(req.url ?? '/');
    if (!answer) return;
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
