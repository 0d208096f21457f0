/**
 * What the Gateway CRD checks on `spec.listeners`: the OpenAPI schema (1 to 64 listeners; name,
 * port and protocol required; the name a section name; the port 1-65535), the list-map key (one
 * listener per name) and the CEL rules on unique names and unique port/protocol/hostname.
 * Causes come in apiextensions-apiserver's order and words: schema errors, list-type errors, then
 * CEL rules, which the server skips (saying so) once a schema error is of a blocking type.
 */
import type { FieldCause } from './status.js';

const maxListeners = 64;
const maxNameLength = 253;
const sectionNamePattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Schema error types after which the API server does not evaluate CEL rules. */
const blocking = new Set(['FieldValueRequired', 'FieldValueTooMany', 'FieldValueTooLong', 'FieldValueNotSupported', 'FieldValueTypeInvalid']);

const rulesSkipped: FieldCause = {
  field: '<nil>',
  reason: 'FieldValueInvalid',
  message: 'Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
};

type Obj = Record<string, any>;

/** The JSON type name kube-openapi reports for a value. */
function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function required(field: string): FieldCause {
  return { field, reason: 'FieldValueRequired', message: 'Required value' };
}

function wrongType(field: string, value: unknown, wanted: string): FieldCause {
  const actual = typeName(value);
  return { field, reason: 'FieldValueTypeInvalid', message: `Invalid value: "${actual}": ${field} in body must be of type ${wanted}: "${actual}"` };
}

function schemaInvalid(field: string, value: unknown, detail: string): FieldCause {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return { field, reason: 'FieldValueInvalid', message: `Invalid value: ${shown}: ${field} in body ${detail}` };
}

function celInvalid(message: string): FieldCause {
  return { field: 'spec.listeners', reason: 'FieldValueInvalid', message: `Invalid value: "array": ${message}` };
}

/** A string field with a minimum length of 1 (every listener string the rules look at). */
function stringCauses(field: string, value: unknown): FieldCause[] {
  if (value === undefined || value === null) return [required(field)];
  if (typeof value !== 'string') return [wrongType(field, value, 'string')];
  return value.length === 0 ? [schemaInvalid(field, value, 'should be at least 1 chars long')] : [];
}

function listenerCauses(listener: unknown, path: string): FieldCause[] {
  if (typeof listener !== 'object' || listener === null || Array.isArray(listener)) return [wrongType(path, listener, 'object')];
  const l = listener as Obj;
  const causes = stringCauses(`${path}.name`, l.name);
  if (typeof l.name === 'string' && l.name.length > 0) {
    if (l.name.length > maxNameLength) causes.push({ field: `${path}.name`, reason: 'FieldValueTooLong', message: `Too long: may not be more than ${maxNameLength} bytes` });
    if (!sectionNamePattern.test(l.name)) causes.push(schemaInvalid(`${path}.name`, l.name, `should match '${sectionNamePattern.source}'`));
  }
  const port = l.port;
  if (port === undefined || port === null) causes.push(required(`${path}.port`));
  else if (typeName(port) !== 'integer') causes.push(wrongType(`${path}.port`, port, 'integer'));
  else if (port < 1) causes.push(schemaInvalid(`${path}.port`, port, 'should be greater than or equal to 1'));
  else if (port > 65535) causes.push(schemaInvalid(`${path}.port`, port, 'should be less than or equal to 65535'));
  causes.push(...stringCauses(`${path}.protocol`, l.protocol));
  return causes;
}

/** `x-kubernetes-list-type: map` keyed by name: every repeat of a name is a duplicate. */
function duplicateNames(listeners: Obj[]): FieldCause[] {
  const seen = new Set<string>();
  const causes: FieldCause[] = [];
  listeners.forEach((l, i) => {
    if (typeof l?.name !== 'string') return;
    if (seen.has(l.name)) causes.push({ field: `spec.listeners[${i}]`, reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify({ name: l.name })}` });
    seen.add(l.name);
  });
  return causes;
}

/** The CEL rules, as `self.all(l1, self.exists_one(l2, ...))` evaluates them. */
function ruleCauses(listeners: Obj[]): FieldCause[] {
  const causes: FieldCause[] = [];
  const unique = (same: (a: Obj, b: Obj) => boolean) => listeners.every((a) => listeners.filter((b) => same(a, b)).length === 1);
  if (!unique((a, b) => a.name === b.name)) causes.push(celInvalid('Listener name must be unique within the Gateway'));
  const hasHostname = (l: Obj) => l.hostname !== undefined && l.hostname !== null;
  const sameHostname = (a: Obj, b: Obj) => (hasHostname(a) && hasHostname(b) ? a.hostname === b.hostname : !hasHostname(a) && !hasHostname(b));
  if (!unique((a, b) => a.port === b.port && a.protocol === b.protocol && sameHostname(a, b))) {
    causes.push(celInvalid('Combination of port, protocol and hostname must be unique for each listener'));
  }
  return causes;
}

/** Causes for a Gateway's spec.listeners (empty when valid). */
export function gatewayCauses(object: Obj): FieldCause[] {
  const spec = object.spec;
  if (spec === undefined || spec === null) return [required('spec'), rulesSkipped];
  const listeners = spec.listeners;
  if (listeners === undefined || listeners === null) return [required('spec.listeners'), rulesSkipped];
  if (!Array.isArray(listeners)) return [wrongType('spec.listeners', listeners, 'array'), rulesSkipped];
  const causes: FieldCause[] = [];
  if (listeners.length > maxListeners) {
    causes.push({ field: 'spec.listeners', reason: 'FieldValueTooMany', message: `Too many: ${listeners.length}: must have at most ${maxListeners} items` });
  }
  if (listeners.length < 1) causes.push(schemaInvalid('spec.listeners', 0, 'should have at least 1 items'));
  listeners.forEach((l, i) => causes.push(...listenerCauses(l, `spec.listeners[${i}]`)));
  causes.push(...duplicateNames(listeners));
  if (causes.some((c) => blocking.has(c.reason))) return [...causes, rulesSkipped];
  return [...causes, ...ruleCauses(listeners)];
}
