// Finds and imports the function's handler module (default export, or a named `handler`).
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FunctionHandler } from './types.js';

/**
 * Where the handler lives. In the image faas-cli has copied the function next to the entrypoint as
 * ./function/handler.js; in a checkout FUNCTION_HANDLER names functions/<name>/handler.ts, relative
 * to the working directory (run under tsx).
 */
export function resolveHandlerPath(env: NodeJS.ProcessEnv, entryDir: string): string {
  return env.FUNCTION_HANDLER ? path.resolve(env.FUNCTION_HANDLER) : path.join(entryDir, 'function', 'handler.js');
}

/** The function's name for logs: FUNCTION_NAME, else the folder holding the handler. */
export function functionNameOf(env: NodeJS.ProcessEnv, handlerPath: string): string {
  return env.FUNCTION_NAME || path.basename(path.dirname(handlerPath));
}

export async function loadHandler(handlerPath: string): Promise<FunctionHandler> {
  const mod = (await import(pathToFileURL(handlerPath).href)) as { default?: unknown; handler?: unknown };
  const handler = mod.default ?? mod.handler;
  if (typeof handler !== 'function') {
    throw new TypeError(`${handlerPath} must export a handler function as its default export`);
  }
  return handler as FunctionHandler;
}
