// Bearer-token (and optional HMAC body signature) authentication against an OpenFaaS secret file.
// Every failure is the same UNAUTHORIZED answer; the reason is only logged, at debug level.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { RuntimeConfig } from './config.js';
import { FunctionError } from './errors.js';

/** Compares two secrets in constant time; hashing first keeps the length of either from leaking. */
export function safeEqual(a: string | Buffer, b: string | Buffer): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return m?.[1];
}

/** HMAC-SHA256 of the raw body, as sent in `X-Hub-Signature-256: sha256=<hex>` (GitHub style). */
export function signBody(body: Buffer | string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface Credentials {
  authorization?: string;
  signature?: string;
}

export interface Authenticator {
  /** False when auth is disabled (empty authSecretName). */
  readonly enabled: boolean;
  /** Whether the call carries a body signature, which can only be checked once the body is read. */
  needsBody(credentials: Credentials): boolean;
  /**
   * Resolves when the credentials are valid, else rejects with UNAUTHORIZED. `rawBody` is needed
   * for signatures; `log` (the call's logger) receives the reason of a refusal at debug level.
   */
  verify(credentials: Credentials, options?: { rawBody?: Buffer; log?: Logger }): Promise<void>;
}

export interface AuthenticatorOptions {
  config: Pick<RuntimeConfig, 'secretsDir' | 'authSecretName'>;
  log: Logger;
  /** How long a read of the secret file is trusted before its mtime is checked again. */
  recheckMs?: number;
  now?: () => number;
}

interface SecretState {
  token?: string;
  stamp?: string;
  checkedAt: number;
  error?: string;
}

/** Reads the token from the secret file, re-reading it when the file changes. */
export function createSecretReader({ config, log, recheckMs = 1000, now = Date.now }: AuthenticatorOptions) {
  const file = path.join(config.secretsDir, config.authSecretName);
  let state: SecretState = { checkedAt: -Infinity };
  let pending: Promise<void> | undefined;

  async function refresh(): Promise<void> {
    let next: SecretState;
    try {
      // Kubernetes updates secret volumes by swapping a symlink: stat follows it, so a rotated
      // secret shows up as a new inode or mtime.
      const s = await stat(file);
      const stamp = `${s.ino}:${s.mtimeMs}:${s.size}`;
      if (stamp === state.stamp && state.token) {
        state = { ...state, checkedAt: now() };
        return;
      }
      const token = (await readFile(file, 'utf8')).trim();
      next = token ? { token, stamp, checkedAt: now() } : { error: 'secret file is empty', checkedAt: now() };
    } catch (err) {
      next = { error: `secret file unreadable: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, checkedAt: now() };
    }
    // Fail closed, and say so once per change rather than on every call.
    if (next.error && next.error !== state.error) log.error({ file, reason: next.error }, 'auth secret unavailable: every call is refused');
    if (!next.error && state.error) log.info({ file }, 'auth secret available again');
    state = next;
  }

  return async function token(): Promise<string | undefined> {
    if (now() - state.checkedAt >= recheckMs) {
      pending ??= refresh().finally(() => {
        pending = undefined;
      });
      await pending;
    }
    return state.token;
  };
}

export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const { config, log } = options;
  if (!config.authSecretName) {
    log.warn('auth disabled: AUTH_SECRET_NAME is empty, every call is accepted');
    return { enabled: false, needsBody: () => false, verify: async () => {} };
  }
  const token = createSecretReader(options);

  return {
    enabled: true,
    needsBody: (c) => !c.authorization && Boolean(c.signature),
    async verify(c, { rawBody, log: callLog = log } = {}) {
      const refuse: (reason: string) => never = (reason) => {
        callLog.debug({ reason }, 'unauthorized');
        throw new FunctionError('UNAUTHORIZED');
      };
      const secret = await token();
      if (!secret) refuse('secret unavailable');
      if (c.authorization) {
        const presented = bearerToken(c.authorization);
        if (!presented) refuse('malformed authorization header');
        if (!safeEqual(presented, secret)) refuse('token mismatch');
        return;
      }
      if (c.signature) {
        if (!rawBody) refuse('signature without body');
        if (!safeEqual(c.signature.trim().toLowerCase(), signBody(rawBody, secret))) refuse('signature mismatch');
        return;
      }
      refuse('no credentials');
    },
  };
}
