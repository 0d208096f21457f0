// JSON logs (pino) on stdout, one child per request carrying reqId = X-Call-Id. Secrets and chart
// values are redacted wherever they appear up to three levels deep.
import { pino, type DestinationStream, type Level, type Logger } from 'pino';

export type { Logger } from 'pino';

const SECRET_KEYS = [
  'authorization',
  'cookie',
  'x-hub-signature-256',
  'token',
  'accessToken',
  'bearerToken',
  'password',
  'passwordStdin',
  'secret',
  'credentials',
  'kubeconfig',
  'values',
  'valuesObject',
];

/** Redaction paths: each key at the top level and under one or two levels of any object. */
export const REDACT_PATHS: string[] = SECRET_KEYS.flatMap((key) => {
  const k = /^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`;
  const join = (prefix: string) => (k.startsWith('[') ? `${prefix}${k}` : `${prefix}.${k}`);
  return [k, join('*'), join('*.*')];
});

export const REDACTED = '[REDACTED]';

const LEVELS: Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

export interface CreateLoggerOptions {
  /** Logged as `fn` on every line. */
  name?: string;
  /** Defaults to env LOG_LEVEL, else "info". "silent" turns logging off. */
  level?: string;
  /** Defaults to a synchronous stdout writer, so nothing is lost on process.exit. */
  destination?: DestinationStream;
  env?: NodeJS.ProcessEnv;
}

export function createLogger({ name, level, destination, env = process.env }: CreateLoggerOptions = {}): Logger {
  const wanted = (level ?? env.LOG_LEVEL ?? 'info').toLowerCase();
  const resolved = wanted === 'silent' || LEVELS.includes(wanted as Level) ? wanted : 'info';
  return pino(
    {
      level: resolved,
      base: name ? { fn: name } : {},
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      serializers: { err: pino.stdSerializers.err },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** The logger of one call: every line carries the call id as reqId. */
export function requestLogger(base: Logger, reqId: string, bindings: Record<string, unknown> = {}): Logger {
  return base.child({ reqId, ...bindings });
}
