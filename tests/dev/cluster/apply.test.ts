import { describe, expect, it } from 'vitest';
import { serverSideApply } from '../../../dev/cluster/apply.js';

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

type Obj = Record<string, unknown>;

/** Apply with frozen inputs (mutation would throw) as field manager "helm" with force, like helm 4. */
function apply(applied: Obj, current?: Obj, previouslyApplied?: Obj): Obj {
  return serverSideApply({
    current: current && deepFreeze(structuredClone(current)),
    applied: deepFreeze(structuredClone(applied)),
    previouslyApplied: previouslyApplied && deepFreeze(structuredClone(previouslyApplied)),
    fieldManager: 'helm',
    force: true,
  });
}

const serverMeta = { uid: 'uid-1', resourceVersion: '7', creationTimestamp: '2024-01-01T00:00:00Z', generation: 2 };

describe('serverSideApply', () => {
  it('returns the applied object, without nulls, when nothing exists yet', () => {
    const applied = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { a: '1', b: null } }, data: { k: 'v' } };
    expect(apply(applied)).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { a: '1' } }, data: { k: 'v' } });
  });

  it('is idempotent for the same configuration', () => {
    const config = { kind: 'ConfigMap', metadata: { name: 'c', labels: { a: '1' } }, data: { k: 'v' } };
    const first = apply(config);
    const live = { ...first, metadata: { ...(first.metadata as Obj), ...serverMeta } };
    expect(apply(config, live, config)).toEqual(live);
  });

  it('removes nested fields the manager no longer applies and keeps fields set by others', () => {
    const previous = { kind: 'X', spec: { a: 1, nested: { x: 1, y: 2, deep: { z: 3 } }, gone: { p: 1 } } };
    const current = {
      kind: 'X',
      metadata: { name: 'x', ...serverMeta },
      spec: { a: 1, nested: { x: 1, y: 2, deep: { z: 3, other: 4 }, byOther: true }, gone: { p: 1 } },
    };
    const applied = { kind: 'X', spec: { a: 2, nested: { x: 1 } } };
    expect(apply(applied, current, previous)).toEqual({
      kind: 'X',
      metadata: { name: 'x', ...serverMeta },
      spec: { a: 2, nested: { x: 1, deep: { other: 4 }, byOther: true } },
    });
  });

  it('removes labels and annotations the manager dropped, keeping those of other managers', () => {
    const previous = { metadata: { name: 'c', labels: { app: 'a', tier: 'web' }, annotations: { 'helm.sh/x': '1' } } };
    const current = {
      metadata: {
        name: 'c',
        ...serverMeta,
        labels: { app: 'a', tier: 'web', 'team.example.com/owner': 'ops' },
        annotations: { 'helm.sh/x': '1' },
      },
    };
    const applied = { metadata: { name: 'c', labels: { app: 'b' } } };
    expect(apply(applied, current, previous)).toEqual({
      metadata: { name: 'c', ...serverMeta, labels: { app: 'b', 'team.example.com/owner': 'ops' } },
    });
  });

  it('keeps server-owned metadata of the live object', () => {
    const current = { metadata: { name: 'c', ...serverMeta, managedFields: [{ manager: 'helm' }] }, data: { a: '1' } };
    const applied = { metadata: { name: 'c', resourceVersion: '3', uid: 'forged', generation: 99 }, data: { a: '2' } };
    expect(apply(applied, current, { metadata: { name: 'c' }, data: { a: '1' } })).toEqual({
      metadata: { name: 'c', ...serverMeta, managedFields: [{ manager: 'helm' }] },
      data: { a: '2' },
    });
    const withoutUid = { metadata: { name: 'c', resourceVersion: '1' } };
    expect(apply({ metadata: { name: 'c', uid: 'forged' } }, withoutUid)).toEqual(withoutUid);
  });

  it('leaves status and other unapplied fields of the live object alone', () => {
    const current = {
      metadata: { name: 's', ...serverMeta },
      spec: { type: 'LoadBalancer', clusterIP: '10.0.0.1', ports: [{ port: 80, protocol: 'TCP' }] },
      status: { loadBalancer: { ingress: [{ ip: '203.0.113.10' }] } },
    };
    const config = { metadata: { name: 's' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } };
    expect(apply(config, current, config)).toEqual(current);
  });

  describe('Service ports (keyed by port and protocol, protocol defaulting to TCP)', () => {
    const chartService = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'ingress-nginx-controller' },
      spec: {
        type: 'LoadBalancer',
        ports: [
          { name: 'http', port: 80, targetPort: 'http' },
          { name: 'https', port: 443, targetPort: 'https' },
        ],
      },
    };

    it('keeps ports added by another manager when the chart is re-applied', () => {
      const current = {
        ...chartService,
        metadata: { ...chartService.metadata, ...serverMeta },
        spec: {
          ...chartService.spec,
          ports: [
            { name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' },
            { name: 'https', port: 443, protocol: 'TCP', targetPort: 'https' },
            { name: 'p-5000-tcp', port: 5000, protocol: 'TCP', targetPort: 5000 },
            { name: 'p-5000-udp', port: 5000, protocol: 'UDP', targetPort: 5000 },
          ],
        },
      };
      const upgraded = structuredClone(chartService);
      upgraded.spec.ports[1] = { name: 'https', port: 443, targetPort: 'https2' };
      expect((apply(upgraded, current, chartService).spec as Obj).ports).toEqual([
        { name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' },
        { name: 'https', port: 443, protocol: 'TCP', targetPort: 'https2' },
        { name: 'p-5000-tcp', port: 5000, protocol: 'TCP', targetPort: 5000 },
        { name: 'p-5000-udp', port: 5000, protocol: 'UDP', targetPort: 5000 },
      ]);
    });

    it('adds a UDP port next to a TCP port of the same number and removes ports no longer applied', () => {
      const previous = { spec: { ports: [{ port: 53, protocol: 'TCP', name: 'dns-tcp' }, { port: 80, name: 'http' }] } };
      const current = { spec: { ports: [{ port: 53, protocol: 'TCP', name: 'dns-tcp' }, { port: 80, protocol: 'TCP', name: 'http' }] } };
      const applied = { spec: { ports: [{ port: 53, protocol: 'TCP', name: 'dns-tcp' }, { port: 53, protocol: 'UDP', name: 'dns-udp' }] } };
      expect(apply(applied, current, previous)).toEqual({
        spec: {
          ports: [
            { port: 53, protocol: 'TCP', name: 'dns-tcp' },
            { port: 53, protocol: 'UDP', name: 'dns-udp' },
          ],
        },
      });
    });

    it('does not strip a defaulted protocol the manager stopped spelling out', () => {
      const previous = { spec: { ports: [{ port: 80, protocol: 'TCP', name: 'http' }] } };
      const current = { spec: { ports: [{ port: 80, protocol: 'TCP', name: 'http' }] } };
      expect(apply({ spec: { ports: [{ port: 80, name: 'web' }] } }, current, previous)).toEqual({
        spec: { ports: [{ port: 80, protocol: 'TCP', name: 'web' }] },
      });
    });
  });

  describe('pod templates', () => {
    const v1 = {
      kind: 'Deployment',
      spec: {
        template: {
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
                volumeMounts: [{ name: 'data', mountPath: '/data' }],
              },
              { name: 'old', image: 'old:1' },
            ],
            volumes: [{ name: 'data', emptyDir: {} }],
          },
        },
      },
    };
    const live = (): Obj => {
      const obj = structuredClone(v1) as any;
      obj.spec.template.spec.containers[0].env.push({ name: 'INJECTED', value: 'x' });
      obj.spec.template.spec.containers.push({ name: 'mesh-proxy', image: 'proxy:1' });
      obj.spec.template.spec.dnsPolicy = 'ClusterFirst';
      return obj;
    };

    it('merges containers, env and volumeMounts by key and removes elements no longer applied', () => {
      const v2 = {
        kind: 'Deployment',
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: 'app',
                  image: 'app:2',
                  args: ['--c'],
                  env: [{ name: 'B', value: '20' }, { name: 'C', value: '3' }],
                  volumeMounts: [{ name: 'data', mountPath: '/data', readOnly: true }],
                },
                { name: 'new', image: 'new:1' },
              ],
              volumes: [{ name: 'data', emptyDir: {} }],
            },
          },
        },
      };
      expect(apply(v2, live(), v1)).toEqual({
        kind: 'Deployment',
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: 'app',
                  image: 'app:2',
                  args: ['--c'],
                  env: [
                    { name: 'B', value: '20' },
                    { name: 'INJECTED', value: 'x' },
                    { name: 'C', value: '3' },
                  ],
                  volumeMounts: [{ name: 'data', mountPath: '/data', readOnly: true }],
                },
                { name: 'mesh-proxy', image: 'proxy:1' },
                { name: 'new', image: 'new:1' },
              ],
              volumes: [{ name: 'data', emptyDir: {} }],
              dnsPolicy: 'ClusterFirst',
            },
          },
        },
      });
    });

    it('drops an atomic list and an emptied keyed list the manager stopped applying', () => {
      const v2 = structuredClone(v1) as any;
      delete v2.spec.template.spec.containers[0].args;
      delete v2.spec.template.spec.volumes;
      delete v2.spec.template.spec.containers[0].volumeMounts;
      const result = apply(v2, live(), v1) as any;
      expect(result.spec.template.spec.containers[0]).toEqual({
        name: 'app',
        image: 'app:1',
        env: [
          { name: 'A', value: '1' },
          { name: 'B', value: '2' },
          { name: 'INJECTED', value: 'x' },
        ],
      });
      expect(result.spec.template.spec).not.toHaveProperty('volumes');
    });
  });

  it('treats finalizers as a set', () => {
    const previous = { metadata: { finalizers: ['a', 'b'] } };
    const current = { metadata: { finalizers: ['a', 'b', 'other'] } };
    expect(apply({ metadata: { finalizers: ['b', 'c'] } }, current, previous)).toEqual({
      metadata: { finalizers: ['b', 'other', 'c'] },
    });
  });

  it('removes a field set to null and replaces values of a different shape', () => {
    const current = { data: { a: '1', b: '2' }, spec: { x: { deep: true }, y: 'scalar', z: [1] } };
    expect(apply({ data: { a: null }, spec: { x: 'now-scalar', y: { now: 'map' }, z: { was: 'list' } } }, current)).toEqual({
      data: { b: '2' },
      spec: { x: 'now-scalar', y: { now: 'map' }, z: { was: 'list' } },
    });
  });

  it('only merges when there is no previous configuration', () => {
    const current = { metadata: { labels: { a: '1' } }, data: { a: '1' } };
    expect(apply({ metadata: { labels: { b: '2' } }, data: { b: '2' } }, current)).toEqual({
      metadata: { labels: { a: '1', b: '2' } },
      data: { a: '1', b: '2' },
    });
  });
});
