/** What the emulator's synchronous controllers and validation add to written objects. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, startCluster, type Cluster } from '../../../dev/cluster/index.js';

let cluster: Cluster;

const service = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec });

function failure(write: () => unknown): { code: number; message: string } {
  try {
    write();
  } catch (error) {
    if (error instanceof ApiError) return { code: error.code, message: error.status.message ?? '' };
    throw error;
  }
  throw new Error('expected the write to fail');
}

const podTemplate = { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };

beforeAll(async () => {
  cluster = await startCluster({ lbIpPool: ['198.51.100.1', '198.51.100.2'] });
});

afterAll(async () => {
  await cluster?.stop();
});

describe('Service allocation', () => {
  it('allocates cluster IPs, none for headless and ExternalName Services', () => {
    const a = cluster.store.create(service('a', { ports: [{ port: 80 }] }));
    const b = cluster.store.create(service('b', { ports: [{ port: 80 }] }));
    expect(a.spec).toEqual({
      ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }],
      type: 'ClusterIP',
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      clusterIP: '10.96.0.2',
      clusterIPs: ['10.96.0.2'],
    });
    expect(b.spec.clusterIP).toBe('10.96.0.3');
    expect(cluster.store.create(service('headless', { clusterIP: 'None', selector: { app: 'x' } })).spec.clusterIPs).toEqual(['None']);
    expect(cluster.store.create(service('ext', { type: 'ExternalName', externalName: 'example.com' })).spec.clusterIP).toBeUndefined();
    expect(failure(() => cluster.store.create(service('c', { clusterIP: '10.96.0.2', ports: [{ port: 1 }] })))).toEqual({
      code: 422,
      message: 'Service "c" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.2"}: failed to allocate IP 10.96.0.2: provided IP is already allocated',
    });
    const updated = cluster.store.update({ ...a, spec: { ports: [{ port: 81 }] } });
    expect(updated.spec.clusterIP).toBe('10.96.0.2');
    expect(failure(() => cluster.store.update({ ...updated, spec: { ...updated.spec, clusterIP: '10.96.9.9', clusterIPs: ['10.96.9.9'] } })).code).toBe(422);
  });

  it('allocates node ports and LoadBalancer addresses from the pool, stable per Service', () => {
    const lb1 = cluster.store.create(service('lb1', { type: 'LoadBalancer', ports: [{ name: 'tcp', port: 80 }, { name: 'udp', port: 53, protocol: 'UDP' }] }));
    expect(lb1.spec.ports.map((p: any) => p.nodePort)).toEqual([30000, 30001]);
    expect(lb1.spec).toMatchObject({ externalTrafficPolicy: 'Cluster', allocateLoadBalancerNodePorts: true });
    expect(lb1.status).toEqual({ loadBalancer: { ingress: [{ ip: '198.51.100.1', ipMode: 'VIP' }] } });
    const lb2 = cluster.store.create(service('lb2', { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ports: [{ port: 80 }] }));
    expect(lb2.spec.ports).toEqual([{ port: 80, protocol: 'TCP', targetPort: 80 }]);
    expect(lb2.status.loadBalancer.ingress[0].ip).toBe('198.51.100.2');
    const lb3 = cluster.store.create(service('lb3', { type: 'LoadBalancer', ports: [{ port: 80 }] }));
    expect(lb3.status).toEqual({ loadBalancer: {} });
    expect(lb3.spec.ports[0].nodePort).toBe(30002);

    // Re-writing keeps the address and the node ports; a new port gets the next free node port.
    const grown = cluster.store.update({ ...lb1, spec: { type: 'LoadBalancer', ports: [...lb1.spec.ports.map(({ nodePort: _n, ...p }: any) => p), { name: 'extra', port: 9000 }] } });
    expect(grown.spec.ports.map((p: any) => p.nodePort)).toEqual([30000, 30001, 30003]);
    expect(grown.status.loadBalancer.ingress[0].ip).toBe('198.51.100.1');

    cluster.store.delete({ resource: 'services', namespace: 'default', name: 'lb2' });
    const retried = cluster.store.update(cluster.store.get({ resource: 'services', namespace: 'default', name: 'lb3' })!);
    expect(retried.status.loadBalancer.ingress[0].ip).toBe('198.51.100.2');

    const demoted = cluster.store.update({ ...grown, spec: { type: 'ClusterIP', ports: [{ name: 'tcp', port: 80 }] } });
    expect(demoted.spec.ports).toEqual([{ name: 'tcp', port: 80, protocol: 'TCP', targetPort: 80 }]);
    expect(demoted.status).toEqual({ loadBalancer: {} });
  });

  it('rejects node ports out of range or taken, and invalid port lists', () => {
    cluster.store.create(service('np', { type: 'NodePort', ports: [{ port: 80, nodePort: 31000 }] }));
    expect(failure(() => cluster.store.create(service('np2', { type: 'NodePort', ports: [{ port: 80, nodePort: 31000 }] })))).toEqual({
      code: 422,
      message: 'Service "np2" is invalid: spec.ports[0].nodePort: Invalid value: 31000: provided port is already allocated',
    });
    expect(failure(() => cluster.store.create(service('np3', { type: 'NodePort', ports: [{ port: 80, nodePort: 80 }] }))).message).toBe(
      'Service "np3" is invalid: spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767',
    );
    expect(failure(() => cluster.store.create(service('multi', { ports: [{ port: 80 }, { name: 'b', port: 81 }] }))).message).toBe('Service "multi" is invalid: spec.ports[0].name: Required value');
    expect(failure(() => cluster.store.create(service('noports', {}))).message).toBe('Service "noports" is invalid: spec.ports: Required value');
    expect(failure(() => cluster.store.create(service('1bad', { ports: [{ port: 80 }] }))).message).toMatch(/^Service "1bad" is invalid: metadata\.name: Invalid value: "1bad": a DNS-1035 label/);
  });
});

describe('workload and storage status', () => {
  it('makes StatefulSets, DaemonSets and ReplicaSets ready', () => {
    const sts = cluster.store.create({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db' }, spec: { replicas: 2, serviceName: 'db', selector: { matchLabels: { app: 'x' } }, template: podTemplate } });
    expect(sts.status).toEqual({
      observedGeneration: 1,
      replicas: 2,
      readyReplicas: 2,
      currentReplicas: 2,
      updatedReplicas: 2,
      currentRevision: sts.status.updateRevision,
      updateRevision: expect.stringMatching(/^db-[a-z0-9]{10}$/),
      collisionCount: 0,
      availableReplicas: 2,
    });
    const ds = cluster.store.create({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent' }, spec: { selector: { matchLabels: { app: 'x' } }, template: podTemplate } });
    expect(ds.status).toMatchObject({ observedGeneration: 1, desiredNumberScheduled: 1, numberReady: 1, updatedNumberScheduled: 1, numberAvailable: 1 });
    const rs = cluster.store.create({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'rs' }, spec: { replicas: 0, selector: { matchLabels: { app: 'x' } }, template: podTemplate } });
    expect(rs.status).toEqual({ replicas: 0, observedGeneration: 1 });
  });

  it('completes Jobs, binds PVCs and runs Pods', () => {
    const job = cluster.store.create({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'migrate' }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x' }] } } } });
    expect(job.status).toMatchObject({ succeeded: 1, ready: 0, terminating: 0 });
    expect(job.status.conditions.map((c: any) => [c.type, c.status])).toEqual([
      ['SuccessCriteriaMet', 'True'],
      ['Complete', 'True'],
    ]);
    const pvc = cluster.store.create({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } } } });
    expect(pvc.status).toEqual({ phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: '2Gi' } });
    expect(pvc.spec.volumeName).toBe(`pvc-${pvc.metadata.uid}`);
    const pod = cluster.store.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x' }] } });
    expect(pod.status.phase).toBe('Running');
    expect(pod.status.conditions.find((c: any) => c.type === 'Ready').status).toBe('True');
    const test = cluster.store.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 't' }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x' }] } });
    expect(test.status.phase).toBe('Succeeded');
  });

  it('refuses changes to immutable fields', () => {
    const deployment = cluster.store.create({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { selector: { matchLabels: { app: 'x' } }, template: podTemplate } });
    const changed = structuredClone(deployment);
    changed.spec.selector = { matchLabels: { app: 'y' } };
    changed.spec.template.metadata.labels = { app: 'y' };
    expect(failure(() => cluster.store.update(changed))).toEqual({
      code: 422,
      message: 'Deployment.apps "web" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"y"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
    });
    const frozen = cluster.store.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'frozen' }, immutable: true, data: { a: '1' } });
    expect(failure(() => cluster.store.update({ ...frozen, data: { a: '2' } })).message).toBe('ConfigMap "frozen" is invalid: data: Forbidden: field is immutable when `immutable` is set');
    expect(failure(() => cluster.store.create({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'nolabels' }, spec: { selector: { matchLabels: { app: 'z' } }, template: podTemplate } })).message).toBe(
      'Deployment.apps "nolabels" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: `selector` does not match template `labels`',
    );
  });
});
