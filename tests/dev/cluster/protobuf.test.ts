import { describe, expect, it } from 'vitest';
import { decodeKubeProtobuf, encodeKubeProtobuf, isKubeProtobuf } from '../../../dev/cluster/protobuf.js';

// Bytes in these fixtures are assembled by hand (tag = field << 3 | wire type) so that a bug
// shared by the encoder and the decoder cannot hide behind a round trip.
const ascii = (s: string): number[] => [...Buffer.from(s, 'utf8')];
const MAGIC = [0x6b, 0x38, 0x73, 0x00];

function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt(n);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

/** A length-delimited field (wire type 2). */
function ld(field: number, payload: number[]): number[] {
  return [...varint((field << 3) | 2), ...varint(payload.length), ...payload];
}

function envelope(apiVersion: string, kind: string, raw: number[], extra: number[] = []): Uint8Array {
  const typeMeta = [...ld(1, ascii(apiVersion)), ...ld(2, ascii(kind))];
  return Uint8Array.from([...MAGIC, ...ld(1, typeMeta), ...ld(2, raw), ...extra]);
}

describe('decodeKubeProtobuf', () => {
  it('decodes a hand-assembled ConfigMap', () => {
    // ConfigMap{metadata{name:"c", namespace:"default"}, data{k:"v"}, immutable:true}
    const bytes = Uint8Array.from([
      ...MAGIC,
      0x0a, 0x0f, // Unknown.typeMeta, 15 bytes
      0x0a, 0x02, ...ascii('v1'),
      0x12, 0x09, ...ascii('ConfigMap'),
      0x12, 0x18, // Unknown.raw, 24 bytes
      0x0a, 0x0c, // ConfigMap.metadata, 12 bytes
      0x0a, 0x01, ...ascii('c'), // name
      0x1a, 0x07, ...ascii('default'), // namespace
      0x12, 0x06, // ConfigMap.data entry, 6 bytes
      0x0a, 0x01, ...ascii('k'),
      0x12, 0x01, ...ascii('v'),
      0x20, 0x01, // ConfigMap.immutable = true
      0x1a, 0x00, // Unknown.contentEncoding ""
      0x22, 0x00, // Unknown.contentType ""
    ]);
    expect(decodeKubeProtobuf(bytes)).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', namespace: 'default' },
      data: { k: 'v' },
      immutable: true,
    });
  });

  it('decodes a hand-assembled Secret with Go-style empty fields, timestamps and unknown fields', () => {
    const ownerRef = [
      ...ld(1, ascii('ConfigMap')),
      ...ld(3, ascii('owner')),
      ...ld(4, ascii('u-1')),
      ...ld(5, ascii('v1')),
      0x30, 0x01, // controller = true
      0x38, 0x00, // blockOwnerDeletion = false
    ];
    const metadata = [
      ...ld(1, ascii('sh.helm.release.v1.r.v1')),
      ...ld(2, []), // generateName "" as gogo-protobuf always writes it
      ...ld(3, ascii('team-a')),
      ...ld(4, []),
      ...ld(5, []),
      ...ld(6, []),
      0x38, 0x00, // generation 0
      ...ld(8, [0x08, ...varint(1_700_000_000)]), // creationTimestamp {seconds}
      ...ld(11, [...ld(1, ascii('owner')), ...ld(2, ascii('helm'))]),
      ...ld(11, [...ld(1, ascii('status')), ...ld(2, ascii('deployed'))]),
      ...ld(12, [...ld(1, ascii('a/b')), ...ld(2, ascii('c d'))]),
      ...ld(13, ownerRef),
      ...ld(14, ascii('example.com/f')),
      ...ld(17, ld(1, ascii('helm'))), // managedFields: skipped
      0xc8, 0x06, 0x2a, // field 105, varint 42: unknown, skipped
      0xa9, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, // field 101, fixed64: unknown, skipped
      0xad, 0x06, 1, 2, 3, 4, // field 101, fixed32: unknown, skipped
    ];
    const raw = [
      ...ld(1, metadata),
      ...ld(2, [...ld(1, ascii('release')), ...ld(2, [0x00, 0xff, 0x10])]),
      ...ld(3, ascii('helm.sh/release.v1')),
      0x28, 0x00, // immutable = false (present, so kept)
    ];
    expect(decodeKubeProtobuf(envelope('v1', 'Secret', raw))).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'sh.helm.release.v1.r.v1',
        namespace: 'team-a',
        creationTimestamp: '2023-11-14T22:13:20Z',
        labels: { owner: 'helm', status: 'deployed' },
        annotations: { 'a/b': 'c d' },
        ownerReferences: [
          { kind: 'ConfigMap', name: 'owner', uid: 'u-1', apiVersion: 'v1', controller: true, blockOwnerDeletion: false },
        ],
        finalizers: ['example.com/f'],
      },
      data: { release: 'AP8Q' },
      type: 'helm.sh/release.v1',
      immutable: false,
    });
  });

  it('omits a zero creationTimestamp and keeps an explicit zero deletionGracePeriodSeconds', () => {
    const metadata = [...ld(1, ascii('x')), ...ld(8, []), ...ld(9, [0x08, 0x01]), 0x50, 0x00];
    expect(decodeKubeProtobuf(envelope('v1', 'ConfigMap', ld(1, metadata)))).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x', deletionTimestamp: '1970-01-01T00:00:01Z', deletionGracePeriodSeconds: 0 },
    });
  });

  it('skips unknown groups, including nested ones, and rejects a mismatched group end', () => {
    // field 20 start group { field 1 varint 5, field 21 start group {} end 21 } end 20
    const group = [0xa3, 0x01, 0x08, 0x05, 0xab, 0x01, 0xac, 0x01, 0xa4, 0x01];
    const metadata = [...group, ...ld(1, ascii('g'))];
    expect(decodeKubeProtobuf(envelope('v1', 'ConfigMap', ld(1, metadata)))).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'g' },
    });
    const mismatched = [0xa3, 0x01, 0xac, 0x01];
    expect(() => decodeKubeProtobuf(envelope('v1', 'ConfigMap', ld(1, mismatched)))).toThrow(/mismatched end of group 20/);
    expect(() => decodeKubeProtobuf(envelope('v1', 'ConfigMap', ld(1, [0xa3, 0x01])))).toThrow(/unterminated group 20/);
  });

  it('decodes DeleteOptions sent with typed deletes', () => {
    const raw = [0x08, 0x00, ...ld(2, ld(1, ascii('u-9'))), ...ld(4, ascii('Background')), ...ld(5, ascii('All'))];
    expect(decodeKubeProtobuf(envelope('v1', 'DeleteOptions', raw))).toEqual({
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      gracePeriodSeconds: 0,
      preconditions: { uid: 'u-9' },
      propagationPolicy: 'Background',
      dryRun: ['All'],
    });
  });

  it.each([
    ['no magic', Uint8Array.from([0x7b, 0x7d]), /k8s\\0 magic/],
    ['a truncated length', Uint8Array.from([...MAGIC, 0x0a, 0x10, 0x0a]), /exceeds the remaining/],
    ['a truncated varint', Uint8Array.from([...MAGIC, 0x08, 0x80]), /truncated varint/],
    ['an empty envelope', Uint8Array.from(MAGIC), /no apiVersion\/kind/],
    ['field number 0', Uint8Array.from([...MAGIC, 0x00, 0x00]), /field number 0/],
    ['wire type 7', Uint8Array.from([...MAGIC, 0x0f]), /unknown wire type 7/],
    ['a compressed body', envelope('v1', 'ConfigMap', [], ld(3, ascii('gzip'))), /content encoding "gzip"/],
    ['an unsupported kind', envelope('apps/v1', 'Deployment', []), /unsupported protobuf kind "apps\/v1\/Deployment"/],
    ['a wrong wire type', envelope('v1', 'ConfigMap', [0x08, 0x01]), /"metadata" has wire type 0/],
    ['invalid UTF-8', envelope('v1', 'ConfigMap', ld(1, ld(1, [0xc3]))), /"name" is not valid UTF-8/],
  ])('rejects %s', (_name, bytes, message) => {
    expect(() => decodeKubeProtobuf(bytes)).toThrow(message);
  });

  it('recognises the magic', () => {
    expect(isKubeProtobuf(Uint8Array.from([...MAGIC, 0x0a]))).toBe(true);
    expect(isKubeProtobuf(Buffer.from('{"kind":"Secret"}'))).toBe(false);
    expect(isKubeProtobuf(Uint8Array.from([0x6b, 0x38]))).toBe(false);
  });
});

describe('encodeKubeProtobuf', () => {
  it('produces the hand-assembled ConfigMap bytes', () => {
    const bytes = encodeKubeProtobuf({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', namespace: 'default' },
      data: { k: 'v' },
      immutable: true,
    });
    expect([...bytes]).toEqual([
      ...MAGIC,
      ...ld(1, [...ld(1, ascii('v1')), ...ld(2, ascii('ConfigMap'))]),
      ...ld(2, [...ld(1, [...ld(1, ascii('c')), ...ld(3, ascii('default'))]), ...ld(2, [...ld(1, ascii('k')), ...ld(2, ascii('v'))]), 0x20, 0x01]),
      0x1a, 0x00,
      0x22, 0x00,
    ]);
  });

  it('round-trips a helm release Secret', () => {
    const release = Buffer.alloc(300, 7).toString('base64'); // > 127 bytes: multi-byte lengths
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'sh.helm.release.v1.r.v1',
        namespace: 'tenant-1',
        labels: { owner: 'helm', name: 'r', status: 'deployed', version: '1' },
        creationTimestamp: '2024-02-29T12:34:56Z',
        generation: 3,
      },
      type: 'helm.sh/release.v1',
      data: { release },
    };
    const bytes = encodeKubeProtobuf(secret);
    expect([...bytes.subarray(0, 4)]).toEqual(MAGIC);
    expect(decodeKubeProtobuf(bytes)).toEqual(secret);
  });

  it('round-trips every supported Secret and ConfigMap field', () => {
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'n',
        generateName: 'g-',
        namespace: 'ns',
        selfLink: '/api/v1/x',
        uid: 'uid-1',
        resourceVersion: '42',
        generation: 9_007_199_254_740_991,
        creationTimestamp: '1999-12-31T23:59:59Z',
        deletionTimestamp: '2030-01-01T00:00:00Z',
        deletionGracePeriodSeconds: 30,
        labels: { a: 'ü' },
        annotations: { 'k8s.io/x': '' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'p', uid: 'u', controller: false, blockOwnerDeletion: true }],
        finalizers: ['a', 'b'],
      },
      data: { empty: '', bin: Buffer.from([0, 1, 2, 255]).toString('base64') },
      stringData: { plain: 'text' },
      type: 'Opaque',
      immutable: true,
    };
    expect(decodeKubeProtobuf(encodeKubeProtobuf(secret))).toEqual(secret);

    const configMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cm' },
      data: { '8080': 'default/svc:80' },
      binaryData: { blob: 'AAEC' },
      immutable: false,
    };
    expect(decodeKubeProtobuf(encodeKubeProtobuf(configMap))).toEqual(configMap);
  });

  it('rejects unsupported kinds and ill-typed fields', () => {
    expect(() => encodeKubeProtobuf({ apiVersion: 'v1', kind: 'Service' })).toThrow(/unsupported protobuf kind "v1\/Service"/);
    expect(() => encodeKubeProtobuf({ kind: 'Secret' })).toThrow(/apiVersion and kind/);
    expect(() => encodeKubeProtobuf({ apiVersion: 'v1', kind: 'ConfigMap', data: { a: 1 } })).toThrow(/"data\[a\]" must be a string/);
    expect(() => encodeKubeProtobuf({ apiVersion: 'v1', kind: 'ConfigMap', metadata: [] })).toThrow(/"metadata" must be an object/);
    expect(() =>
      encodeKubeProtobuf({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { creationTimestamp: 'yesterday' } }),
    ).toThrow(/not an RFC 3339 time/);
  });
});
