// GET or POST / : the lowest free external port of an ingress controller, without claiming it.
// Query (GET) or body (POST): { protocol?: "tcp"|"udp", lbip? } -> { ip, port, protocol }.
import { readFileSync } from 'node:fs';
import { FunctionError } from '#runtime/errors.js';
import { sharedExposure, type Protocol } from '#runtime/exposure/index.js';
import type { FunctionHandler } from '#runtime/types.js';
import { compileValidator } from '#runtime/validate.js';

const validate = compileValidator<{ protocol: Protocol; lbip?: string }>(
  JSON.parse(readFileSync(new URL('./schema.json', import.meta.url), 'utf8')),
);

export const handler: FunctionHandler = async (req, ctx) => {
  if (req.path !== '/') throw new FunctionError('NOT_FOUND');
  let input: unknown;
  if (req.method === 'GET') input = Object.fromEntries(req.query);
  else if (req.method === 'POST') input = req.body === undefined ? {} : req.body;
  else throw new FunctionError('METHOD_NOT_ALLOWED');
  const { protocol, lbip } = validate(input);
  return { status: 200, body: await sharedExposure(ctx.config).lookup({ protocol, lbip }) };
};

export default handler;
