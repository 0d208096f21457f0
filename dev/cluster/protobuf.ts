/**
 * Kubernetes protobuf wire format (`application/vnd.kubernetes.protobuf`) for the few kinds that
 * client-go sends as protobuf to the emulator: the typed clientset (used by helm's release storage)
 * encodes built-in objects this way, while chart resources travel as JSON.
 *
 * A body is the 4-byte magic `k8s\0` followed by a `runtime.Unknown` message whose `raw` field holds
 * the object message. Field numbers follow k8s.io/api and k8s.io/apimachinery generated.proto.
 * The JSON form produced here is what the apiserver would return: Go's `omitempty` rules drop empty
 * strings, zero generation and zero timestamps (gogo-protobuf always writes non-pointer fields), byte
 * values become base64 strings and timestamps RFC 3339 strings at second precision.
 */

const MAGIC = Uint8Array.from([0x6b, 0x38, 0x73, 0x00]);

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
const WIRE_FIXED32 = 5;

type Scalar = 'string' | 'bytes' | 'bool' | 'int64' | 'int32';

type FieldSpec =
  | { name: string; type: Scalar; repeated?: boolean; keepEmpty?: boolean }
  | { name: string; type: 'message'; schema: MessageSchema; repeated?: boolean }
  | { name: string; type: 'map'; value: 'string' | 'bytes' }
  | { name: string; type: 'time' };

type MessageSchema = Readonly<Record<number, FieldSpec>>;

const TIME = { type: 'time' } as const;

const OWNER_REFERENCE: MessageSchema = {
  1: { name: 'kind', type: 'string', keepEmpty: true },
  3: { name: 'name', type: 'string', keepEmpty: true },
  4: { name: 'uid', type: 'string', keepEmpty: true },
  5: { name: 'apiVersion', type: 'string', keepEmpty: true },
  6: { name: 'controller', type: 'bool' },
  7: { name: 'blockOwnerDeletion', type: 'bool' },
};

// Field 17 (managedFields) is left out on purpose: the emulator tracks field ownership itself, and
// unknown fields are skipped by wire type.
const OBJECT_META: MessageSchema = {
  1: { name: 'name', type: 'string' },
  2: { name: 'generateName', type: 'string' },
  3: { name: 'namespace', type: 'string' },
  4: { name: 'selfLink', type: 'string' },
  5: { name: 'uid', type: 'string' },
  6: { name: 'resourceVersion', type: 'string' },
  7: { name: 'generation', type: 'int64' },
  8: { name: 'creationTimestamp', ...TIME },
  9: { name: 'deletionTimestamp', ...TIME },
  10: { name: 'deletionGracePeriodSeconds', type: 'int64', keepEmpty: true },
  11: { name: 'labels', type: 'map', value: 'string' },
  12: { name: 'annotations', type: 'map', value: 'string' },
  13: { name: 'ownerReferences', type: 'message', schema: OWNER_REFERENCE, repeated: true },
  14: { name: 'finalizers', type: 'string', repeated: true },
};

const SECRET: MessageSchema = {
  1: { name: 'metadata', type: 'message', schema: OBJECT_META },
  2: { name: 'data', type: 'map', value: 'bytes' },
  3: { name: 'type', type: 'string' },
  4: { name: 'stringData', type: 'map', value: 'string' },
  5: { name: 'immutable', type: 'bool' },
};

const CONFIG_MAP: MessageSchema = {
  1: { name: 'metadata', type: 'message', schema: OBJECT_META },
  2: { name: 'data', type: 'map', value: 'string' },
  3: { name: 'binaryData', type: 'map', value: 'bytes' },
  4: { name: 'immutable', type: 'bool' },
};

const PRECONDITIONS: MessageSchema = {
  1: { name: 'uid', type: 'string' },
  2: { name: 'resourceVersion', type: 'string' },
};

// client-go encodes the body of typed DELETE calls with the same content type as writes.
const DELETE_OPTIONS: MessageSchema = {
  1: { name: 'gracePeriodSeconds', type: 'int64', keepEmpty: true },
  2: { name: 'preconditions', type: 'message', schema: PRECONDITIONS },
  3: { name: 'orphanDependents', type: 'bool' },
  4: { name: 'propagationPolicy', type: 'string' },
  5: { name: 'dryRun', type: 'string', repeated: true },
  6: { name: 'ignoreStoreReadErrorWithClusterBreakingPotential', type: 'bool' },
};

const KINDS: Readonly<Record<string, MessageSchema>> = {
  'v1/Secret': SECRET,
  'v1/ConfigMap': CONFIG_MAP,
  'v1/DeleteOptions': DELETE_OPTIONS,
  'meta.k8s.io/v1/DeleteOptions': DELETE_OPTIONS,
};

function schemaFor(apiVersion: string, kind: string): MessageSchema {
  const schema = KINDS[`${apiVersion}/${kind}`];
  if (!schema) {
    const supported = Object.keys(KINDS).join(', ');
    throw new Error(`unsupported protobuf kind "${apiVersion}/${kind}" (supported: ${supported})`);
  }
  return schema;
}

/** True when a request body starts with the Kubernetes protobuf magic. */
export function isKubeProtobuf(body: Uint8Array): boolean {
  return body.length >= MAGIC.length && MAGIC.every((byte, i) => body[i] === byte);
}

/* ------------------------------------------------------------------ decoding */

interface WireField {
  number: number;
  wireType: number;
  varint?: bigint;
  bytes?: Uint8Array;
}

class Reader {
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.buf.length) throw new Error('protobuf: truncated varint');
      const byte = this.buf[this.pos++];
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return BigInt.asUintN(64, result);
    }
    throw new Error('protobuf: varint longer than 10 bytes');
  }

  take(length: number): Uint8Array {
    if (length < 0 || this.pos + length > this.buf.length) {
      throw new Error(`protobuf: length ${length} exceeds the remaining ${this.buf.length - this.pos} bytes`);
    }
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  field(): WireField | undefined {
    const key = this.varint();
    const number = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (number === 0) throw new Error('protobuf: field number 0 is invalid');
    switch (wireType) {
      case WIRE_VARINT:
        return { number, wireType, varint: this.varint() };
      case WIRE_BYTES:
        return { number, wireType, bytes: this.take(Number(this.varint())) };
      case WIRE_FIXED64:
        this.take(8);
        return { number, wireType };
      case WIRE_FIXED32:
        this.take(4);
        return { number, wireType };
      case WIRE_START_GROUP:
        this.skipGroup(number);
        return { number, wireType };
      case WIRE_END_GROUP:
        throw new Error(`protobuf: unexpected end of group ${number}`);
      default:
        throw new Error(`protobuf: unknown wire type ${wireType} for field ${number}`);
    }
  }

  private skipGroup(number: number): void {
    for (;;) {
      if (this.done()) throw new Error(`protobuf: unterminated group ${number}`);
      const key = this.varint();
      if (Number(key & 7n) === WIRE_END_GROUP) {
        if (Number(key >> 3n) !== number) throw new Error(`protobuf: mismatched end of group ${number}`);
        return;
      }
      // Re-dispatch the nested field by rewinding over its key.
      this.pos -= varintLength(key);
      this.field();
    }
  }
}

function varintLength(value: bigint): number {
  let length = 1;
  while (value >= 0x80n) {
    value >>= 7n;
    length++;
  }
  return length;
}

function readFields(buf: Uint8Array): WireField[] {
  const reader = new Reader(buf);
  const fields: WireField[] = [];
  while (!reader.done()) {
    const field = reader.field();
    if (field) fields.push(field);
  }
  return fields;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function expectWire(field: WireField, wireType: number, name: string): void {
  if (field.wireType !== wireType) {
    throw new Error(`protobuf: field "${name}" has wire type ${field.wireType}, expected ${wireType}`);
  }
}

function decodeString(field: WireField, name: string): string {
  expectWire(field, WIRE_BYTES, name);
  try {
    return utf8.decode(field.bytes);
  } catch {
    throw new Error(`protobuf: field "${name}" is not valid UTF-8`);
  }
}

function toInt(value: bigint, bits: 32 | 64): number {
  return Number(BigInt.asIntN(bits, value));
}

function decodeTime(buf: Uint8Array, name: string): string | undefined {
  let seconds = 0;
  let nanos = 0;
  for (const field of readFields(buf)) {
    if (field.number === 1) {
      expectWire(field, WIRE_VARINT, `${name}.seconds`);
      seconds = toInt(field.varint!, 64);
    } else if (field.number === 2) {
      expectWire(field, WIRE_VARINT, `${name}.nanos`);
      nanos = toInt(field.varint!, 32);
    }
  }
  if (seconds === 0 && nanos === 0) return undefined;
  return formatTime(seconds);
}

function formatTime(seconds: number): string {
  const date = new Date(seconds * 1000);
  if (Number.isNaN(date.getTime())) throw new Error(`protobuf: timestamp ${seconds} is out of range`);
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function decodeMapEntry(buf: Uint8Array, spec: { name: string; value: 'string' | 'bytes' }): [string, string] {
  let key = '';
  let value = '';
  for (const field of readFields(buf)) {
    if (field.number === 1) key = decodeString(field, `${spec.name} key`);
    else if (field.number === 2) {
      if (spec.value === 'string') value = decodeString(field, `${spec.name}[${key}]`);
      else {
        expectWire(field, WIRE_BYTES, `${spec.name}[${key}]`);
        value = Buffer.from(field.bytes!).toString('base64');
      }
    }
  }
  return [key, value];
}

function decodeScalar(field: WireField, spec: { name: string; type: Scalar }): string | number | boolean {
  switch (spec.type) {
    case 'string':
      return decodeString(field, spec.name);
    case 'bytes':
      expectWire(field, WIRE_BYTES, spec.name);
      return Buffer.from(field.bytes!).toString('base64');
    case 'bool':
      expectWire(field, WIRE_VARINT, spec.name);
      return field.varint !== 0n;
    case 'int64':
      expectWire(field, WIRE_VARINT, spec.name);
      return toInt(field.varint!, 64);
    case 'int32':
      expectWire(field, WIRE_VARINT, spec.name);
      return toInt(field.varint!, 32);
  }
}

function isEmptyScalar(value: unknown): boolean {
  return value === '' || value === 0;
}

function decodeMessage(buf: Uint8Array, schema: MessageSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of readFields(buf)) {
    const spec = schema[field.number];
    if (!spec) continue;
    switch (spec.type) {
      case 'message': {
        expectWire(field, WIRE_BYTES, spec.name);
        const value = decodeMessage(field.bytes!, spec.schema);
        if (spec.repeated) ((out[spec.name] ??= []) as unknown[]).push(value);
        else out[spec.name] = value;
        break;
      }
      case 'map': {
        expectWire(field, WIRE_BYTES, spec.name);
        const [key, value] = decodeMapEntry(field.bytes!, spec);
        ((out[spec.name] ??= {}) as Record<string, string>)[key] = value;
        break;
      }
      case 'time': {
        expectWire(field, WIRE_BYTES, spec.name);
        const value = decodeTime(field.bytes!, spec.name);
        if (value === undefined) delete out[spec.name];
        else out[spec.name] = value;
        break;
      }
      default: {
        const value = decodeScalar(field, spec);
        if (spec.repeated) ((out[spec.name] ??= []) as unknown[]).push(value);
        else if (isEmptyScalar(value) && !spec.keepEmpty) delete out[spec.name];
        else out[spec.name] = value;
      }
    }
  }
  return out;
}

/**
 * Decode a `k8s\0`-prefixed protobuf request body into the object's JSON form (with apiVersion and
 * kind from the envelope). Throws an Error naming the problem for a bad envelope, malformed
 * protobuf or a kind this module does not know.
 */
export function decodeKubeProtobuf(body: Uint8Array): Record<string, unknown> {
  if (!isKubeProtobuf(body)) throw new Error('protobuf: body does not start with the k8s\\0 magic');
  let apiVersion = '';
  let kind = '';
  let raw: Uint8Array = new Uint8Array(0);
  let contentEncoding = '';
  for (const field of readFields(body.subarray(MAGIC.length))) {
    if (field.number === 1) {
      expectWire(field, WIRE_BYTES, 'typeMeta');
      for (const meta of readFields(field.bytes!)) {
        if (meta.number === 1) apiVersion = decodeString(meta, 'typeMeta.apiVersion');
        else if (meta.number === 2) kind = decodeString(meta, 'typeMeta.kind');
      }
    } else if (field.number === 2) {
      expectWire(field, WIRE_BYTES, 'raw');
      raw = field.bytes!;
    } else if (field.number === 3) {
      contentEncoding = decodeString(field, 'contentEncoding');
    }
  }
  if (!kind || !apiVersion) throw new Error('protobuf: envelope has no apiVersion/kind');
  if (contentEncoding) throw new Error(`protobuf: unsupported content encoding "${contentEncoding}"`);
  const schema = schemaFor(apiVersion, kind);
  return { apiVersion, kind, ...decodeMessage(raw, schema) };
}

/* ------------------------------------------------------------------ encoding */

class Writer {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  varint(value: bigint): void {
    let v = BigInt.asUintN(64, value);
    const bytes: number[] = [];
    while (v >= 0x80n) {
      bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    bytes.push(Number(v));
    this.push(Uint8Array.from(bytes));
  }

  key(number: number, wireType: number): void {
    this.varint(BigInt((number << 3) | wireType));
  }

  bytesField(number: number, bytes: Uint8Array): void {
    this.key(number, WIRE_BYTES);
    this.varint(BigInt(bytes.length));
    this.push(bytes);
  }

  varintField(number: number, value: bigint): void {
    this.key(number, WIRE_VARINT);
    this.varint(value);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}

const utf8Encoder = new TextEncoder();

function requireType(value: unknown, type: string, name: string): void {
  if (typeof value !== type) throw new Error(`protobuf: field "${name}" must be a ${type}`);
}

function encodeBase64(value: unknown, name: string): Uint8Array {
  requireType(value, 'string', name);
  return Buffer.from(value as string, 'base64');
}

function parseTime(value: unknown, name: string): bigint {
  requireType(value, 'string', name);
  const ms = Date.parse(value as string);
  if (Number.isNaN(ms)) throw new Error(`protobuf: field "${name}" is not an RFC 3339 time`);
  return BigInt(Math.floor(ms / 1000));
}

function encodeScalar(w: Writer, number: number, spec: { name: string; type: Scalar }, value: unknown): void {
  switch (spec.type) {
    case 'string':
      requireType(value, 'string', spec.name);
      w.bytesField(number, utf8Encoder.encode(value as string));
      return;
    case 'bytes':
      w.bytesField(number, encodeBase64(value, spec.name));
      return;
    case 'bool':
      requireType(value, 'boolean', spec.name);
      w.varintField(number, value ? 1n : 0n);
      return;
    case 'int64':
    case 'int32':
      if (!Number.isInteger(value)) throw new Error(`protobuf: field "${spec.name}" must be an integer`);
      w.varintField(number, BigInt(value as number));
      return;
  }
}

function encodeMessage(obj: Record<string, unknown>, schema: MessageSchema): Uint8Array {
  const w = new Writer();
  const numbers = Object.keys(schema).map(Number).sort((a, b) => a - b);
  for (const number of numbers) {
    const spec = schema[number];
    const value = obj[spec.name];
    if (value === undefined || value === null) continue;
    const values: unknown[] = 'repeated' in spec && spec.repeated ? asArray(value, spec.name) : [value];
    for (const item of values) {
      switch (spec.type) {
        case 'message':
          w.bytesField(number, encodeMessage(asRecord(item, spec.name), spec.schema));
          break;
        case 'map':
          for (const [key, entry] of Object.entries(asRecord(item, spec.name))) {
            const e = new Writer();
            e.bytesField(1, utf8Encoder.encode(key));
            if (spec.value === 'bytes') e.bytesField(2, encodeBase64(entry, `${spec.name}[${key}]`));
            else {
              requireType(entry, 'string', `${spec.name}[${key}]`);
              e.bytesField(2, utf8Encoder.encode(entry as string));
            }
            w.bytesField(number, e.finish());
          }
          break;
        case 'time': {
          const t = new Writer();
          t.varintField(1, parseTime(item, spec.name));
          w.bytesField(number, t.finish());
          break;
        }
        default:
          encodeScalar(w, number, spec, item);
      }
    }
  }
  return w.finish();
}

function asArray(value: unknown, name: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`protobuf: field "${name}" must be an array`);
  return value;
}

function asRecord(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`protobuf: field "${name}" must be an object`);
  }
  return value as Record<string, unknown>;
}

/**
 * Encode an object's JSON form as a `k8s\0`-prefixed protobuf body, the way client-go does for
 * the kinds `decodeKubeProtobuf` supports. Throws for other kinds or ill-typed fields.
 */
export function encodeKubeProtobuf(obj: Record<string, unknown>): Uint8Array {
  const { apiVersion, kind } = obj;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
    throw new Error('protobuf: object needs string apiVersion and kind');
  }
  const raw = encodeMessage(obj, schemaFor(apiVersion, kind));
  const typeMeta = new Writer();
  typeMeta.bytesField(1, utf8Encoder.encode(apiVersion));
  typeMeta.bytesField(2, utf8Encoder.encode(kind));
  const unknown = new Writer();
  unknown.push(MAGIC);
  unknown.bytesField(1, typeMeta.finish());
  unknown.bytesField(2, raw);
  // Go's generated marshaller always writes these two, empty.
  unknown.bytesField(3, new Uint8Array(0));
  unknown.bytesField(4, new Uint8Array(0));
  return unknown.finish();
}
