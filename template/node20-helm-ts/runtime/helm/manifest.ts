// The Services a release created, read from its rendered manifest (multi-document YAML), so callers
// can expose them without asking the Kubernetes API.
import { parseAllDocuments } from 'yaml';

export interface ServicePort {
  name?: string;
  port: number;
  protocol: string;
  targetPort?: number | string;
}

export interface ReleaseService {
  name: string;
  namespace: string;
  type: string;
  ports: ServicePort[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function toPort(raw: unknown): ServicePort | undefined {
  if (!isObj(raw)) return undefined;
  const port = typeof raw.port === 'string' ? Number(raw.port) : raw.port;
  if (typeof port !== 'number' || !Number.isInteger(port)) return undefined;
  const out: ServicePort = { port, protocol: typeof raw.protocol === 'string' ? raw.protocol : 'TCP' };
  if (typeof raw.name === 'string' && raw.name !== '') out.name = raw.name;
  if (typeof raw.targetPort === 'number' || (typeof raw.targetPort === 'string' && raw.targetPort !== '')) {
    out.targetPort = raw.targetPort;
  }
  return out;
}

function toService(doc: Obj, defaultNamespace: string): ReleaseService | undefined {
  if (doc.kind !== 'Service' || !isObj(doc.metadata) || typeof doc.metadata.name !== 'string') return undefined;
  const spec = isObj(doc.spec) ? doc.spec : {};
  const ports = Array.isArray(spec.ports) ? spec.ports.map(toPort).filter((p): p is ServicePort => p !== undefined) : [];
  return {
    name: doc.metadata.name,
    namespace: typeof doc.metadata.namespace === 'string' && doc.metadata.namespace ? doc.metadata.namespace : defaultNamespace,
    type: typeof spec.type === 'string' ? spec.type : 'ClusterIP',
    ports,
  };
}

/** Services of a rendered manifest, in manifest order; documents that do not parse are skipped. */
export function servicesFromManifest(manifest: string, defaultNamespace: string): ReleaseService[] {
  const services: ReleaseService[] = [];
  for (const doc of parseAllDocuments(manifest ?? '')) {
    if (doc.errors.length > 0) continue;
    const value: unknown = doc.toJSON();
    if (!isObj(value)) continue;
    const objects = value.kind === 'List' && Array.isArray(value.items) ? value.items : [value];
    for (const obj of objects) {
      const svc = isObj(obj) ? toService(obj, defaultNamespace) : undefined;
      if (svc) services.push(svc);
    }
  }
  return services;
}
