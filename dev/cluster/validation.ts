/**
 * The subset of the API server's validation that changes what clients observe: object names,
 * label syntax, ConfigMap/Secret keys and size, Service ports, workload selectors, Gateway
 * listeners (gateway-validation.ts), and the fields that are immutable once set. Messages follow
 * apimachinery's field errors.
 */
import type { ResourceType } from './resources.js';
import type { KubeObject } from './store.js';
import { gatewayCauses } from './gateway-validation.js';
import { invalid, type FieldCause } from './status.js';

const dns1123LabelPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123SubdomainPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const dns1035LabelPattern = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const configKeyPattern = /^[-._a-zA-Z0-9]+$/;
const qualifiedNamePattern = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const labelValuePattern = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** 1 MiB: the limit on the data of one ConfigMap or Secret (helm release Secrets hit it with big charts). */
export const maxDataBytes = 1024 * 1024;

function quote(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function invalidValue(field: string, value: unknown, detail: string): FieldCause {
  return { field, reason: 'FieldValueInvalid', message: `Invalid value: ${quote(value)}: ${detail}` };
}

function required(field: string): FieldCause {
  return { field, reason: 'FieldValueRequired', message: 'Required value' };
}

function duplicate(field: string, value: string): FieldCause {
  return { field, reason: 'FieldValueDuplicate', message: `Duplicate value: ${value}` };
}

function unsupported(field: string, value: unknown, supported: string[]): FieldCause {
  return {
    field,
    reason: 'FieldValueNotSupported',
    message: `Unsupported value: ${quote(value)}: supported values: ${supported.map((s) => `"${s}"`).join(', ')}`,
  };
}

/** Like apimachinery's IsDNS1123Subdomain and friends: a length limit and a pattern. */
function nameCheck(maxLength: number, pattern: RegExp, message: string): (value: string) => string[] {
  return (value) => {
    const errors: string[] = [];
    if (value.length > maxLength) errors.push(`must be no more than ${maxLength} characters`);
    if (!pattern.test(value)) errors.push(message);
    return errors;
  };
}

export const dns1123Subdomain = nameCheck(
  253,
  dns1123SubdomainPattern,
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
);

export const dns1123Label = nameCheck(
  63,
  dns1123LabelPattern,
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
);

const dns1035Label = nameCheck(
  63,
  dns1035LabelPattern,
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
);

function pathSegmentName(value: string): string[] {
  if (value === '.' || value === '..') return [`may not be '${value}'`];
  const bad = ['/', '%'].find((c) => value.includes(c));
  return bad ? [`may not contain '${bad}'`] : [];
}

/** Which rule each type applies to `metadata.name`. */
function nameRule(type: ResourceType): (value: string) => string[] {
  if (type.group === '' && type.resource === 'namespaces') return dns1123Label;
  if (type.group === '' && type.resource === 'services') return dns1035Label;
  if (type.group === 'rbac.authorization.k8s.io') return pathSegmentName;
  return dns1123Subdomain;
}

function qualifiedName(value: string): string[] {
  const errors: string[] = [];
  const slash = value.lastIndexOf('/');
  const prefix = slash >= 0 ? value.slice(0, slash) : undefined;
  const name = slash >= 0 ? value.slice(slash + 1) : value;
  if (prefix !== undefined) errors.push(...dns1123Subdomain(prefix).map((e) => `prefix part ${e}`));
  if (name.length === 0) errors.push('name part must be non-empty');
  else if (name.length > 63) errors.push('name part must be no more than 63 characters');
  if (name.length > 0 && !qualifiedNamePattern.test(name)) {
    errors.push(
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    );
  }
  return errors;
}

function metadataCauses(type: ResourceType, object: KubeObject): FieldCause[] {
  const causes: FieldCause[] = [];
  const meta = object.metadata;
  const name = meta.name ?? '';
  if (!name) causes.push({ field: 'metadata.name', reason: 'FieldValueRequired', message: 'Required value: name or generateName is required' });
  else {
    const errors = nameRule(type)(name);
    if (errors.length) causes.push(invalidValue('metadata.name', name, errors.join('; ')));
  }
  for (const [key, value] of Object.entries(meta.labels ?? {})) {
    const keyErrors = qualifiedName(key);
    if (keyErrors.length) causes.push(invalidValue('metadata.labels', key, keyErrors.join('; ')));
    if (typeof value !== 'string' || value.length > 63 || !labelValuePattern.test(value)) {
      causes.push(
        invalidValue(
          'metadata.labels',
          value,
          "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        ),
      );
    }
  }
  for (const key of Object.keys(meta.annotations ?? {})) {
    const keyErrors = qualifiedName(key.toLowerCase());
    if (keyErrors.length) causes.push(invalidValue('metadata.annotations', key, keyErrors.join('; ')));
  }
  return causes;
}

function dataCauses(object: KubeObject, fields: string[]): FieldCause[] {
  const causes: FieldCause[] = [];
  let size = 0;
  const seen = new Set<string>();
  for (const field of fields) {
    for (const [key, value] of Object.entries((object[field] ?? {}) as Record<string, unknown>)) {
      if (!configKeyPattern.test(key) || key.length > 253) {
        causes.push(
          invalidValue(
            `${field}[${key}]`,
            key,
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
          ),
        );
      }
      if (seen.has(key)) causes.push(duplicate(`${field}[${key}]`, `"${key}"`));
      seen.add(key);
      size += key.length + (typeof value === 'string' ? (field === 'data' && object.kind === 'Secret' ? Math.floor((value.length * 3) / 4) : Buffer.byteLength(value)) : 0);
    }
  }
  if (size > maxDataBytes) causes.push({ field: fields[0], reason: 'FieldValueTooLong', message: `Too long: may not be more than ${maxDataBytes} bytes` });
  return causes;
}

function goServicePort(port: Record<string, any>): string {
  return `core.ServicePort{Name:"", Protocol:"${port.protocol}", AppProtocol:(*string)(nil), Port:${port.port}, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}`;
}

function serviceCauses(object: KubeObject): FieldCause[] {
  const causes: FieldCause[] = [];
  const spec = (object.spec ?? {}) as Record<string, any>;
  const types = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
  if (!types.includes(spec.type)) causes.push(unsupported('spec.type', spec.type, types));
  const ports: Record<string, any>[] = Array.isArray(spec.ports) ? spec.ports : [];
  const headless = spec.clusterIP === 'None';
  if (ports.length === 0 && !headless && spec.type !== 'ExternalName') causes.push(required('spec.ports'));
  const names = new Set<string>();
  const keys = new Set<string>();
  ports.forEach((port, i) => {
    const path = `spec.ports[${i}]`;
    if (ports.length > 1 && !port.name) causes.push(required(`${path}.name`));
    if (port.name) {
      const errors = dns1123Label(String(port.name));
      if (errors.length) causes.push(invalidValue(`${path}.name`, port.name, errors.join('; ')));
      if (names.has(port.name)) causes.push(duplicate(`${path}.name`, `"${port.name}"`));
      names.add(port.name);
    }
    if (!Number.isInteger(port.port) || port.port < 1 || port.port > 65535) {
      causes.push(invalidValue(`${path}.port`, port.port, 'must be between 1 and 65535, inclusive'));
    }
    if (!['SCTP', 'TCP', 'UDP'].includes(port.protocol)) causes.push(unsupported(`${path}.protocol`, port.protocol, ['SCTP', 'TCP', 'UDP']));
    const key = `${port.protocol}/${port.port}`;
    if (keys.has(key)) causes.push(duplicate(path, goServicePort(port)));
    keys.add(key);
  });
  return causes;
}

function goLabelMap(labels: Record<string, string> | undefined): string {
  const entries = Object.keys(labels ?? {})
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(labels![k])}`);
  return `map[string]string{${entries.join(', ')}}`;
}

function workloadCauses(object: KubeObject): FieldCause[] {
  const spec = (object.spec ?? {}) as Record<string, any>;
  const selector = spec.selector as Record<string, any> | undefined;
  if (!selector || (!selector.matchLabels && !selector.matchExpressions)) return [required('spec.selector')];
  const labels = (spec.template?.metadata?.labels ?? {}) as Record<string, string>;
  const matches = Object.entries((selector.matchLabels ?? {}) as Record<string, string>).every(([k, v]) => labels[k] === v);
  if (!matches) {
    return [{ field: 'spec.template.metadata.labels', reason: 'FieldValueInvalid', message: `Invalid value: ${goLabelMap(labels)}: \`selector\` does not match template \`labels\`` }];
  }
  return [];
}

const workloads = new Set(['apps/deployments', 'apps/statefulsets', 'apps/daemonsets', 'apps/replicasets']);

/** Throws 422 Invalid when the object (after defaulting) breaks a rule. */
export function validateObject(type: ResourceType, object: KubeObject): void {
  const causes = metadataCauses(type, object);
  const key = `${type.group}/${type.resource}`;
  if (key === '/configmaps') causes.push(...dataCauses(object, ['data', 'binaryData']));
  if (key === '/secrets') causes.push(...dataCauses(object, ['data']));
  if (key === '/services') causes.push(...serviceCauses(object));
  if (workloads.has(key)) causes.push(...workloadCauses(object));
  if (key === 'gateway.networking.k8s.io/gateways') causes.push(...gatewayCauses(object));
  if (causes.length) throw invalid({ group: type.group, kind: type.kind, name: object.metadata.name ?? '', causes });
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** Throws 422 Invalid when an update changes a field the real server refuses to change. */
export function validateUpdate(type: ResourceType, object: KubeObject, old: KubeObject): void {
  const causes: FieldCause[] = [];
  const key = `${type.group}/${type.resource}`;
  if ((key === '/configmaps' || key === '/secrets') && old.immutable === true) {
    if (object.immutable !== true) causes.push({ field: 'immutable', reason: 'FieldValueForbidden', message: 'Forbidden: field is immutable when `immutable` is set' });
    for (const field of ['data', 'binaryData', 'stringData']) {
      if (!same(object[field], old[field])) causes.push({ field, reason: 'FieldValueForbidden', message: 'Forbidden: field is immutable when `immutable` is set' });
    }
  }
  if ((key === '/secrets') && (object.type ?? 'Opaque') !== (old.type ?? 'Opaque')) {
    causes.push({ field: 'type', reason: 'FieldValueInvalid', message: `Invalid value: ${quote(object.type)}: field is immutable` });
  }
  if (workloads.has(key) && old.spec?.selector && !same(object.spec?.selector, old.spec.selector)) {
    causes.push({ field: 'spec.selector', reason: 'FieldValueInvalid', message: `Invalid value: v1.LabelSelector{MatchLabels:${goLabelMap(object.spec?.selector?.matchLabels)}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable` });
  }
  if (key === 'batch/jobs' && old.spec?.template && !same(object.spec?.template, old.spec.template)) {
    causes.push({ field: 'spec.template', reason: 'FieldValueInvalid', message: 'Invalid value: core.PodTemplateSpec{...}: field is immutable' });
  }
  if (key === '/services') {
    const oldIp = old.spec?.clusterIP;
    const newIp = object.spec?.clusterIP;
    if (oldIp && newIp && oldIp !== newIp && object.spec?.type !== 'ExternalName' && old.spec?.type !== 'ExternalName') {
      causes.push({ field: 'spec.clusterIPs[0]', reason: 'FieldValueInvalid', message: `Invalid value: []string{${JSON.stringify(newIp)}}: may not change once set` });
    }
  }
  if (causes.length) throw invalid({ group: type.group, kind: type.kind, name: object.metadata.name ?? '', causes });
}
