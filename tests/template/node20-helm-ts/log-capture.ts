// A pino logger whose lines are kept in memory and parsed, for asserting on logs.
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '#runtime/logger.js';

export interface LogLine {
  level: number;
  msg?: string;
  reqId?: string;
  [key: string]: unknown;
}

export function captureLogs(level = 'debug'): { logger: Logger; lines: () => LogLine[]; raw: () => string } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  const logger = createLogger({ name: 'test-fn', level, destination });
  const raw = () => chunks.join('');
  const lines = () =>
    raw()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LogLine);
  return { logger, lines, raw };
}
