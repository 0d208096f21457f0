// A raw HTTP client for hostile requests: any method with any body (GET with a body, chunked uploads,
// bytes that are not UTF-8), headers as given, and the answer as bytes, so tests can compare bodies
// byte for byte. fetch cannot send most of these.
import http from 'node:http';

export interface RawRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Sends the body in 64 KiB chunks without Content-Length (Transfer-Encoding: chunked). */
  chunked?: boolean;
}

export interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

const CHUNK = 64 * 1024;

export function createRawClient({ maxSockets = 16 }: { maxSockets?: number } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets });

  function send({ method, url, headers = {}, body, chunked = false }: RawRequest): Promise<RawReply> {
    return new Promise((resolve, reject) => {
      let answered = false;
      const outgoing: Record<string, string | number> = { ...headers };
      if (body && !chunked) outgoing['content-length'] = body.length;
      // Node frames a body without Content-Length as chunked only for methods that usually carry one.
      if (body && chunked) outgoing['transfer-encoding'] = 'chunked';
      const req = http.request(url, { method, headers: outgoing, agent }, (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      // A server that answers early (413) may close while the upload is still going: the answer
      // already received is what counts.
      req.on('error', (err) => {
        if (!answered) reject(err);
      });
      if (!body) {
        req.end();
      } else if (!chunked) {
        req.end(body);
      } else {
        for (let at = 0; at < body.length; at += CHUNK) req.write(body.subarray(at, at + CHUNK));
        req.end();
      }
    });
  }

  return { send, close: () => agent.destroy() };
}

/** Runs `work` over `items` with at most `limit` in flight; results in input order. */
export async function mapPool<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
