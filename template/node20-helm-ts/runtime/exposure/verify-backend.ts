// Every backend checks the Service a rule points to before writing anything.
import type { V1Service } from '@kubernetes/client-node';
import { FunctionError } from '../errors.js';
import type { Protocol, Target } from './backend.js';

/**
 * The backend must exist and expose `servicePort` with the protocol: a rule to a missing Service
 * is skipped silently by ingress-nginx and never accepted by a Gateway, so a typo would otherwise
 * give a rule that never works.
 */
export async function verifyBackend(
  kube: { readService(ref: { namespace: string; name: string }): Promise<V1Service | undefined> },
  target: Target,
  protocol: Protocol,
): Promise<void> {
  const service = await kube.readService({ namespace: target.namespace, name: target.serviceName });
  const where = `${target.namespace}/${target.serviceName}`;
  if (!service) {
    throw new FunctionError('SERVICE_NOT_FOUND', `Service ${where} not found`, { namespace: target.namespace, serviceName: target.serviceName });
  }
  const wanted = protocol.toUpperCase();
  const ports = service.spec?.ports ?? [];
  if (ports.some((p) => String(p.port) === String(target.servicePort) && (p.protocol ?? 'TCP') === wanted)) return;
  const has = ports.map((p) => `${p.port}/${p.protocol ?? 'TCP'}`).join(', ') || 'none';
  throw new FunctionError('INVALID_INPUT', 'The request body is invalid', [
    { path: '/servicePort', message: `Service ${where} has no ${wanted} port ${target.servicePort} (it has ${has})` },
  ]);
}
