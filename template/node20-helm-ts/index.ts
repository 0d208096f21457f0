// Entrypoint of the function image: of-watchdog (mode=http) starts `node index.js` and proxies every
// call to http://127.0.0.1:${http_port:-3000}.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from './runtime/config.js';
import { functionNameOf, loadHandler, resolveHandlerPath } from './runtime/load-handler.js';
import { createLogger } from './runtime/logger.js';
import { startFunctionServer } from './runtime/server.js';
import { installSignalHandlers } from './runtime/shutdown.js';

const handlerPath = resolveHandlerPath(process.env, path.dirname(fileURLToPath(import.meta.url)));
const functionName = functionNameOf(process.env, handlerPath);
const log = createLogger({ name: functionName });

try {
  const handler = await loadHandler(handlerPath);
  const config = loadConfig(process.env);
  const port = Number.parseInt(process.env.http_port ?? '', 10);
  const server = await startFunctionServer({
    handler,
    functionName,
    config,
    logger: log,
    port: Number.isInteger(port) && port >= 0 ? port : 3000,
    host: process.env.http_host || '127.0.0.1',
  });
  installSignalHandlers(server, { log });
} catch (err) {
  log.fatal({ err }, 'function runtime failed to start');
  process.exit(1);
}
