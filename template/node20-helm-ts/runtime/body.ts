// Request bodies: read with a hard size limit (never buffering past it), then parsed as JSON
// whatever the content type says, because `faas-cli invoke` sends text/plain.
import type { IncomingMessage } from 'node:http';
import { FunctionError } from './errors.js';

/** Raised when the client goes away before the body is complete; nothing can be answered then. */
export class ClientGoneError extends Error {
  constructor() {
    super('client disconnected while sending the body');
    this.name = 'ClientGoneError';
  }
}

function tooLarge(limit: number): FunctionError {
  return new FunctionError('PAYLOAD_TOO_LARGE', undefined, { limitBytes: limit });
}

/**
 * Rejects with PAYLOAD_TOO_LARGE as soon as the declared Content-Length or the bytes received pass
 * `limit`; the rest of the body is then discarded as it arrives.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onGone);
      req.off('close', onGone);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        chunks.length = 0;
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onGone = () => {
      cleanup();
      reject(new ClientGoneError());
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onGone);
    req.on('close', onGone);
  });
}

/** Deepest nesting of arrays/objects accepted in a body: chart values are far shallower, and the
 * recursive code downstream (schema validation, values merging, JSON.stringify) must not overflow. */
export const MAX_JSON_DEPTH = 64;

/** Iterative depth measurement, so a hostile body cannot overflow the stack here either. */
function exceedsDepth(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= limit) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Empty or blank bodies are `undefined`; anything else must be one JSON document. */
export function parseJsonBody(raw: Buffer): unknown {
  let text = raw.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new FunctionError('INVALID_INPUT', 'The request body is not valid JSON');
  }
  if (exceedsDepth(parsed, MAX_JSON_DEPTH)) {
    throw new FunctionError('INVALID_INPUT', `The request body is nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  return parsed;
}
