// SIGTERM/SIGINT: stop accepting, let calls in progress finish within the grace period, cancel the
// rest (their ctx.signal aborts, so helm gets SIGTERM and can mark its release failed), then exit.
import type http from 'node:http';
import type { Logger } from 'pino';
import { functionServerOf, shutdownGraceMs, type FunctionServer } from './server.js';

export interface SignalHandlerOptions {
  /** Defaults to env SHUTDOWN_GRACE_MS, else 10000. */
  graceMs?: number;
  /** Time allowed after cancelling before the process exits anyway. */
  forceMs?: number;
  log?: Logger;
  signals?: NodeJS.Signals[];
  exit?: (code: number) => void;
}

/** Installs the handlers; returns a function that removes them. */
export function installSignalHandlers(target: FunctionServer | http.Server, options: SignalHandlerOptions = {}): () => void {
  const {
    graceMs = shutdownGraceMs(),
    forceMs = 5_000,
    log,
    signals = ['SIGTERM', 'SIGINT'],
    exit = (code: number) => process.exit(code),
  } = options;
  const functionServer = 'close' in target && 'url' in target ? target : functionServerOf(target);
  let stopping = false;

  const stop = async (): Promise<void> => {
    if (functionServer) return functionServer.close({ graceMs, forceMs });
    // A plain http.Server: its calls cannot be cancelled, only waited for.
    const server = target as http.Server;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Keep-alive sockets become idle as their calls finish; close them as they do.
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    server.closeIdleConnections();
    await closed;
    clearInterval(sweep);
    clearTimeout(timer);
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log?.warn({ signal }, 'second signal: exiting now');
      exit(1);
      return;
    }
    stopping = true;
    log?.info({ signal, graceMs }, 'shutting down');
    const deadline = setTimeout(() => {
      log?.error('shutdown did not finish in time: exiting');
      exit(1);
    }, graceMs + forceMs + 1_000);
    deadline.unref();
    stop().then(
      () => {
        clearTimeout(deadline);
        log?.info('shut down');
        exit(0);
      },
      (err: unknown) => {
        clearTimeout(deadline);
        log?.error({ err }, 'shutdown failed');
        exit(1);
      },
    );
  };

  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
