import { describe, expect, it } from 'vitest';
import { applyPatch, InvalidPatchError, PatchTestFailedError } from '../../../dev/cluster/patch.js';

/** Freeze inputs so that any mutation by the code under test throws (ES modules are strict). */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

function patch(type: 'merge' | 'json' | 'strategic', current: Record<string, unknown>, body: unknown) {
  return applyPatch({ current: deepFreeze(structuredClone(current)), patch: deepFreeze(structuredClone(body)), type });
}

describe('merge patch (RFC 7386)', () => {
  // Test cases from RFC 7386 appendix A (those with an object document).
  it.each([
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])('%j + %j', (current, body, expected) => {
    expect(patch('merge', current, body)).toEqual(expected);
  });

  it('merges metadata maps of a Kubernetes object without touching the rest', () => {
    const current = { kind: 'ConfigMap', metadata: { name: 'c', labels: { a: '1', b: '2' } }, data: { '8080': 'x/y:80' } };
    expect(patch('merge', current, { metadata: { labels: { a: null, c: '3' } }, data: { '9090': 'x/z:90' } })).toEqual({
      kind: 'ConfigMap',
      metadata: { name: 'c', labels: { b: '2', c: '3' } },
      data: { '8080': 'x/y:80', '9090': 'x/z:90' },
    });
  });

  it('rejects a patch that is not an object', () => {
    expect(() => patch('merge', { a: 1 }, [1])).toThrow(InvalidPatchError);
    expect(() => patch('merge', { a: 1 }, 'x')).toThrow(/must be a JSON object/);
  });
});

describe('JSON patch (RFC 6902)', () => {
  // Examples from RFC 6902 appendix A.
  it.each([
    ['add an object member', { foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux' }], { baz: 'qux', foo: 'bar' }],
    ['add an array element', { foo: ['bar', 'baz'] }, [{ op: 'add', path: '/foo/1', value: 'qux' }], { foo: ['bar', 'qux', 'baz'] }],
    ['remove an object member', { baz: 'qux', foo: 'bar' }, [{ op: 'remove', path: '/baz' }], { foo: 'bar' }],
    ['remove an array element', { foo: ['bar', 'qux', 'baz'] }, [{ op: 'remove', path: '/foo/1' }], { foo: ['bar', 'baz'] }],
    ['replace a value', { baz: 'qux', foo: 'bar' }, [{ op: 'replace', path: '/baz', value: 'boo' }], { baz: 'boo', foo: 'bar' }],
    [
      'move a value',
      { foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } },
      [{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }],
      { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } },
    ],
    [
      'move an array element',
      { foo: ['all', 'grass', 'cows', 'eat'] },
      [{ op: 'move', from: '/foo/1', path: '/foo/3' }],
      { foo: ['all', 'cows', 'eat', 'grass'] },
    ],
    [
      'pass a test',
      { baz: 'qux', foo: ['a', 2, 'c'] },
      [
        { op: 'test', path: '/baz', value: 'qux' },
        { op: 'test', path: '/foo/1', value: 2 },
      ],
      { baz: 'qux', foo: ['a', 2, 'c'] },
    ],
    ['add a nested member object', { foo: 'bar' }, [{ op: 'add', path: '/child', value: { grandchild: {} } }], { foo: 'bar', child: { grandchild: {} } }],
    ['ignore unrecognized elements', { foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux', xyz: 123 }], { foo: 'bar', baz: 'qux' }],
    ['test escaped ~ and /', { '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: 10 }], { '/': 9, '~1': 10 }],
    ['add an array value', { foo: ['bar'] }, [{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }], { foo: ['bar', ['abc', 'def']] }],
  ])('%s', (_name, current, body, expected) => {
    expect(patch('json', current, body)).toEqual(expected);
  });

  it('edits keys containing / and ~ through escapes', () => {
    const current = { metadata: { annotations: { 'example.com/a': 'x', 'b~c': 'y' } } };
    expect(
      patch('json', current, [
        { op: 'replace', path: '/metadata/annotations/example.com~1a', value: 'z' },
        { op: 'remove', path: '/metadata/annotations/b~0c' },
        { op: 'add', path: '/metadata/annotations/~01', value: 'w' },
      ]),
    ).toEqual({ metadata: { annotations: { 'example.com/a': 'z', '~1': 'w' } } });
  });

  it('appends with "-", copies deeply and tests objects regardless of key order', () => {
    const current = { spec: { ports: [{ port: 80, protocol: 'TCP' }] } };
    const result = patch('json', current, [
      { op: 'test', path: '/spec/ports/0', value: { protocol: 'TCP', port: 80 } },
      { op: 'copy', from: '/spec/ports/0', path: '/spec/ports/-' },
      { op: 'replace', path: '/spec/ports/1/port', value: 81 },
      { op: 'add', path: '/spec/ports/-', value: { port: 5000, protocol: 'UDP' } },
    ]);
    expect(result).toEqual({
      spec: {
        ports: [
          { port: 80, protocol: 'TCP' },
          { port: 81, protocol: 'TCP' },
          { port: 5000, protocol: 'UDP' },
        ],
      },
    });
  });

  it('replaces the whole document with an empty path', () => {
    expect(patch('json', { a: 1 }, [{ op: 'replace', path: '', value: { b: 2 } }])).toEqual({ b: 2 });
    expect(() => patch('json', { a: 1 }, [{ op: 'add', path: '', value: [1] }])).toThrow(/must be a JSON object/);
  });

  it('throws PatchTestFailedError for a failed test, leaving the object untouched', () => {
    const current = { metadata: { resourceVersion: '5' }, data: { a: '1' } };
    const run = () =>
      patch('json', current, [
        { op: 'add', path: '/data/b', value: '2' },
        { op: 'test', path: '/metadata/resourceVersion', value: '4' },
      ]);
    expect(run).toThrow(PatchTestFailedError);
    expect(run).toThrow('test operation 1 failed: "/metadata/resourceVersion" is "5", expected "4"');
    expect(current).toEqual({ metadata: { resourceVersion: '5' }, data: { a: '1' } });
  });

  it.each([
    ['a number compared with a string', { baz: 'qux', foo: ['a', 2, 'c'] }, [{ op: 'test', path: '/foo/1', value: '2' }]],
    ['a value at a missing path', { a: 1 }, [{ op: 'test', path: '/b', value: 1 }]],
    ['arrays in another order', { a: [1, 2] }, [{ op: 'test', path: '/a', value: [2, 1] }]],
    ['an object with an extra key', { a: { x: 1 } }, [{ op: 'test', path: '/a', value: { x: 1, y: 2 } }]],
  ])('fails a test of %s', (_name, current, body) => {
    expect(() => patch('json', current, body)).toThrow(PatchTestFailedError);
  });

  it.each([
    ['a missing parent', { foo: 'bar' }, [{ op: 'add', path: '/baz/bat', value: 'qux' }], /does not exist/],
    ['removing a missing member', { a: 1 }, [{ op: 'remove', path: '/b' }], /"\/b" does not exist/],
    ['replacing a missing member', { a: 1 }, [{ op: 'replace', path: '/b', value: 2 }], /"\/b" does not exist/],
    ['an index past the end', { a: [1] }, [{ op: 'add', path: '/a/2', value: 2 }], /index 2 is out of bounds/],
    ['removing past the end', { a: [1] }, [{ op: 'remove', path: '/a/1' }], /index 1 is out of bounds/],
    ['an index with a leading zero', { a: [1, 2] }, [{ op: 'remove', path: '/a/01' }], /not an array index/],
    ['"-" outside add', { a: [1] }, [{ op: 'remove', path: '/a/-' }], /not an array index/],
    ['a path without a leading slash', { a: 1 }, [{ op: 'remove', path: 'a' }], /must start with "\/"/],
    ['an invalid escape', { a: 1 }, [{ op: 'remove', path: '/a~2' }], /invalid ~ escape/],
    ['a trailing ~', { a: 1 }, [{ op: 'remove', path: '/a~' }], /invalid ~ escape/],
    ['removing the document', { a: 1 }, [{ op: 'remove', path: '' }], /whole document/],
    ['moving into a child', { a: { b: {} } }, [{ op: 'move', from: '/a', path: '/a/b/c' }], /into its own child/],
    ['an unknown op', { a: 1 }, [{ op: 'merge', path: '/a', value: 1 }], /unknown op "merge"/],
    ['a missing value', { a: 1 }, [{ op: 'add', path: '/b' }], /needs a value/],
    ['a non-string path', { a: 1 }, [{ op: 'remove', path: 1 }], /path must be a string/],
    ['a body that is not a list', { a: 1 }, { op: 'remove', path: '/a' }, /array of operations/],
    ['an operation that is not an object', { a: 1 }, ['remove'], /operation 0 must be an object/],
  ])('rejects %s', (_name, current, body, message) => {
    const run = () => patch('json', current, body);
    expect(run).toThrow(InvalidPatchError);
    expect(run).toThrow(message);
    expect(run).not.toThrow(PatchTestFailedError);
  });

  it('keeps "move" onto itself and copies independent of the source', () => {
    expect(patch('json', { a: { b: 1 } }, [{ op: 'move', from: '/a', path: '/a' }])).toEqual({ a: { b: 1 } });
    expect(
      patch('json', { a: { b: [1] } }, [
        { op: 'copy', from: '/a', path: '/c' },
        { op: 'add', path: '/c/b/-', value: 2 },
      ]),
    ).toEqual({ a: { b: [1] }, c: { b: [1, 2] } });
  });
});

describe('strategic merge patch', () => {
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'ingress-nginx-controller', labels: { app: 'nginx' } },
    spec: {
      type: 'LoadBalancer',
      ports: [
        { name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' },
        { name: 'https', port: 443, protocol: 'TCP', targetPort: 'https' },
      ],
    },
  };

  it('merges Service ports by port: adds, updates and deletes entries', () => {
    const result = patch('strategic', service, {
      spec: {
        ports: [
          { name: '5000-tcp', port: 5000, protocol: 'TCP', targetPort: 5000 },
          { port: 443, targetPort: 8443 },
          { port: 80, $patch: 'delete' },
        ],
      },
    });
    expect(result.spec).toEqual({
      type: 'LoadBalancer',
      ports: [
        { name: 'https', port: 443, protocol: 'TCP', targetPort: 8443 },
        { name: '5000-tcp', port: 5000, protocol: 'TCP', targetPort: 5000 },
      ],
    });
    expect(result.metadata).toEqual(service.metadata);
  });

  it('matches Service ports by number only, so a UDP port merges into the TCP entry like on a real cluster', () => {
    const current = { spec: { ports: [{ name: '53-tcp', port: 53, protocol: 'TCP' }] } };
    expect(patch('strategic', current, { spec: { ports: [{ name: '53-udp', port: 53, protocol: 'UDP' }] } })).toEqual({
      spec: { ports: [{ name: '53-udp', port: 53, protocol: 'UDP' }] },
    });
  });

  const deployment = {
    kind: 'Deployment',
    spec: {
      replicas: 1,
      template: {
        metadata: { labels: { app: 'x' } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'app:1',
              args: ['--a', '--b'],
              env: [
                { name: 'A', value: '1' },
                { name: 'B', value: '2' },
              ],
              ports: [{ containerPort: 8080, name: 'http' }],
              volumeMounts: [{ name: 'data', mountPath: '/data' }],
            },
            { name: 'sidecar', image: 'side:1' },
          ],
          volumes: [{ name: 'data', emptyDir: {} }],
          tolerations: [{ key: 'a', operator: 'Exists' }],
          imagePullSecrets: [{ name: 'reg' }],
        },
      },
    },
  };

  it('merges containers, env, ports, volumeMounts and volumes by key and replaces other lists', () => {
    const result = patch('strategic', deployment, {
      spec: {
        replicas: 3,
        template: {
          spec: {
            containers: [
              {
                name: 'app',
                image: 'app:2',
                args: ['--c'],
                env: [{ name: 'B', value: '20' }, { name: 'C', value: '3' }, { name: 'A', $patch: 'delete' }],
                ports: [{ containerPort: 9090, name: 'metrics' }],
                volumeMounts: [{ mountPath: '/data', readOnly: true }],
              },
              { name: 'new', image: 'new:1', env: [{ name: 'X', value: null, valueFrom: { fieldRef: { fieldPath: 'a' } } }] },
            ],
            volumes: [{ name: 'cache', emptyDir: {} }],
            tolerations: [{ key: 'b', operator: 'Exists' }],
            imagePullSecrets: [{ name: 'other' }],
          },
        },
      },
    });
    expect(result).toEqual({
      kind: 'Deployment',
      spec: {
        replicas: 3,
        template: {
          metadata: { labels: { app: 'x' } },
          spec: {
            containers: [
              {
                name: 'app',
                image: 'app:2',
                args: ['--c'],
                env: [
                  { name: 'B', value: '20' },
                  { name: 'C', value: '3' },
                ],
                ports: [
                  { containerPort: 8080, name: 'http' },
                  { containerPort: 9090, name: 'metrics' },
                ],
                volumeMounts: [{ name: 'data', mountPath: '/data', readOnly: true }],
              },
              { name: 'sidecar', image: 'side:1' },
              { name: 'new', image: 'new:1', env: [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'a' } } }] },
            ],
            volumes: [
              { name: 'data', emptyDir: {} },
              { name: 'cache', emptyDir: {} },
            ],
            tolerations: [{ key: 'b', operator: 'Exists' }],
            imagePullSecrets: [{ name: 'reg' }, { name: 'other' }],
          },
        },
      },
    });
  });

  it('honours $patch: replace on a list and on a map, and $patch: delete on a map', () => {
    const result = patch('strategic', deployment, {
      spec: {
        template: {
          metadata: { $patch: 'delete' },
          spec: {
            containers: [{ $patch: 'replace' }, { name: 'only', image: 'only:1' }],
            volumes: [{ name: 'data', $patch: 'replace', configMap: { name: 'c' } }],
          },
        },
        selector: { $patch: 'replace', matchLabels: { app: 'y' } },
      },
    });
    const spec = result.spec as Record<string, any>;
    expect(spec.template.metadata).toBeUndefined();
    expect(spec.template.spec.containers).toEqual([{ name: 'only', image: 'only:1' }]);
    expect(spec.template.spec.volumes).toEqual([{ name: 'data', configMap: { name: 'c' } }]);
    expect(spec.selector).toEqual({ matchLabels: { app: 'y' } });
    expect(spec.replicas).toBe(1);
  });

  it('replaces a map wholesale with $patch: replace', () => {
    const current = { metadata: { name: 'c' }, data: { a: '1', b: '2' } };
    expect(patch('strategic', current, { data: { $patch: 'replace', c: '3' } })).toEqual({ metadata: { name: 'c' }, data: { c: '3' } });
  });

  it('unions finalizers and applies $deleteFromPrimitiveList', () => {
    const current = { metadata: { name: 'x', finalizers: ['a', 'b'] } };
    expect(patch('strategic', current, { metadata: { finalizers: ['c', 'b'] } })).toEqual({
      metadata: { name: 'x', finalizers: ['a', 'b', 'c'] },
    });
    expect(
      patch('strategic', current, {
        metadata: { finalizers: ['c'], '$deleteFromPrimitiveList/finalizers': ['a'] },
      }),
    ).toEqual({ metadata: { name: 'x', finalizers: ['b', 'c'] } });
    expect(patch('strategic', current, { metadata: { finalizers: [{ $patch: 'replace' }, 'd'] } })).toEqual({
      metadata: { name: 'x', finalizers: ['d'] },
    });
  });

  it('deletes from an atomic primitive list too', () => {
    const current = { spec: { containers: [{ name: 'a', args: ['x', 'y', 'z'] }] } };
    expect(
      patch('strategic', current, { spec: { containers: [{ name: 'a', '$deleteFromPrimitiveList/args': ['y'] }] } }),
    ).toEqual({ spec: { containers: [{ name: 'a', args: ['x', 'z'] }] } });
  });

  it('strips $setElementOrder directives and nested directives of new elements', () => {
    const current = { spec: { ports: [{ port: 80 }] } };
    expect(
      patch('strategic', current, {
        spec: {
          '$setElementOrder/ports': [{ port: 81 }, { port: 80 }],
          ports: [{ port: 81, $patch: 'merge', '$setElementOrder/x': [] }],
        },
      }),
    ).toEqual({ spec: { ports: [{ port: 80 }, { port: 81 }] } });
  });

  it('keeps only $retainKeys', () => {
    const current = { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } };
    expect(
      patch('strategic', current, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } }),
    ).toEqual({ spec: { strategy: { type: 'Recreate' } } });
  });

  it('deletes keys set to null and replaces lists of unknown fields', () => {
    const current = { metadata: { labels: { a: '1', b: '2' } }, spec: { rules: [{ host: 'a' }, { host: 'b' }] } };
    expect(patch('strategic', current, { metadata: { labels: { a: null } }, spec: { rules: [{ host: 'c' }] } })).toEqual({
      metadata: { labels: { b: '2' } },
      spec: { rules: [{ host: 'c' }] },
    });
  });

  it('merges ownerReferences by uid and status conditions by type', () => {
    const current = {
      metadata: { ownerReferences: [{ uid: 'u1', name: 'a' }] },
      status: { conditions: [{ type: 'Ready', status: 'False' }] },
    };
    expect(
      patch('strategic', current, {
        metadata: { ownerReferences: [{ uid: 'u2', name: 'b' }] },
        status: { conditions: [{ type: 'Ready', status: 'True' }] },
      }),
    ).toEqual({
      metadata: { ownerReferences: [{ uid: 'u1', name: 'a' }, { uid: 'u2', name: 'b' }] },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    });
  });

  it('rejects an element without its merge key, an unknown directive and a non-object patch', () => {
    expect(() => patch('strategic', service, { spec: { ports: [{ name: 'x' }] } })).toThrow(
      'element of "spec.ports" does not contain its merge key "port"',
    );
    expect(() => patch('strategic', service, { spec: { $patch: 'explode' } })).toThrow(/unknown \$patch directive "explode"/);
    expect(() => patch('strategic', service, [])).toThrow(InvalidPatchError);
  });

  it('rejects an unknown patch type', () => {
    expect(() => applyPatch({ current: {}, patch: {}, type: 'yaml' as never })).toThrow(/unknown patch type "yaml"/);
  });
});
