// `npm test` of the function image (run by the Dockerfile's build stage): see runtime/selftest.ts.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { functionNameOf, loadHandler, resolveHandlerPath } from './runtime/load-handler.js';
import { selfTest } from './runtime/selftest.js';

const handlerPath = resolveHandlerPath(process.env, path.dirname(fileURLToPath(import.meta.url)));
try {
  await selfTest({ handler: await loadHandler(handlerPath), functionName: functionNameOf(process.env, handlerPath) });
  console.log(`selftest passed: ${handlerPath}`);
  process.exit(0);
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
