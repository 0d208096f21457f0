// The Authorization header for calls to sibling functions. Every function of the stack checks the
// same secret, so the caller's bearer token is forwarded as is. A caller that authenticated with a
// body signature (X-Hub-Signature-256) sent no token: the sibling calls then carry the token read
// from the function's own copy of the secret, since a signature covers only the caller's body.
import type { Logger } from 'pino';
import { createSecretReader } from '../auth.js';
import type { RuntimeConfig } from '../config.js';

type Reader = () => Promise<string | undefined>;
const readers = new Map<string, Reader>();

export async function siblingAuthorization({
  authorization,
  config,
  log,
}: {
  authorization?: string;
  config: Pick<RuntimeConfig, 'secretsDir' | 'authSecretName'>;
  log: Logger;
}): Promise<string | undefined> {
  if (authorization) return authorization;
  if (!config.authSecretName) return undefined;
  const key = `${config.secretsDir}\0${config.authSecretName}`;
  let read = readers.get(key);
  if (!read) {
    read = createSecretReader({ config, log });
    readers.set(key, read);
  }
  const token = await read();
  return token ? `Bearer ${token}` : undefined;
}
