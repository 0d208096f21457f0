/**
 * What the real cluster's defaulting and controllers would add, done synchronously on each write
 * so clients see a settled object at once: Service IPs and node ports, LoadBalancer ingress IPs,
 * workload statuses that kstatus (helm's `--wait`) reads as Current, completed Jobs, bound PVCs,
 * running Pods, established CRDs, Gateway addresses and status (gateway-controller.ts).
 * Allocation state is derived from the stored objects, so nothing needs releasing when an object
 * goes away.
 */
import { createHash } from 'node:crypto';
import { applyGatewayApiDefaults, GatewayController } from './gateway-controller.js';
import { gatewayGroup, type ResourceRegistry, type ResourceType } from './resources.js';
import type { KubeObject, Store } from './store.js';
import { invalid } from './status.js';

/** Default addresses handed to LoadBalancer Services, in order (TEST-NET-3, never routable). */
export function defaultLbIpPool(): string[] {
  const pool: string[] = [];
  for (let i = 10; i <= 250; i++) pool.push(`203.0.113.${i}`);
  return pool;
}

export const nodePortRange = { min: 30000, max: 32767 };

type Obj = Record<string, any>;

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const hashAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

/** A pod-template-hash look-alike: stable for the same template. */
export function templateHash(value: unknown, length = 10): string {
  const digest = createHash('sha256').update(JSON.stringify(value ?? null)).digest();
  let out = '';
  for (let i = 0; i < length; i++) out += hashAlphabet[digest[i] % hashAlphabet.length];
  return out;
}

function ipToNumber(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function numberToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** 10.96.0.0/12, like kubeadm's default service CIDR. */
const serviceCidr = { first: ipToNumber('10.96.0.1'), last: ipToNumber('10.111.255.254') };

/** Keeps a condition's timestamps when its type, status and reason did not change. */
function condition(previous: Obj[] | undefined, next: Obj, timestamps: string[]): Obj {
  const old = previous?.find((c) => c.type === next.type);
  const stamp = now();
  const keep = old && old.status === next.status && old.reason === next.reason && old.message === next.message;
  const out: Obj = { type: next.type, status: next.status };
  for (const field of ['lastProbeTime', 'lastUpdateTime', 'lastTransitionTime']) {
    if (timestamps.includes(field)) out[field] = keep ? old[field] : stamp;
  }
  if (next.reason) out.reason = next.reason;
  if (next.message) out.message = next.message;
  return out;
}

export interface ControllerOptions {
  /** Addresses for LoadBalancer Services and Gateways, handed out in order. */
  lbIpPool: string[];
  /** Whether Gateways get addresses and status (else they keep the CRD's pending status). */
  gatewayController: boolean;
}

export class Controllers {
  private podIps = 0;
  private readonly servicesType: ResourceType;
  private readonly lbIpPool: string[];
  private readonly gateways: GatewayController;

  constructor(
    private readonly store: Store,
    registry: ResourceRegistry,
    options: ControllerOptions,
  ) {
    this.servicesType = registry.resolve({ group: '', resource: 'services' });
    this.lbIpPool = options.lbIpPool;
    this.gateways = new GatewayController(
      store,
      {
        gateways: registry.resolve({ group: gatewayGroup, resource: 'gateways' }),
        routes: ['tcproutes', 'udproutes'].map((resource) => registry.resolve({ group: gatewayGroup, resource })),
        namespaces: registry.resolve({ group: '', resource: 'namespaces' }),
        services: this.servicesType,
      },
      options.gatewayController,
      (gateway) => this.freeLbAddress('gateway', gateway),
    );
  }

  /** Follow-up work after a stored change (not for dry runs): Gateways whose status depends on it. */
  changed(type: ResourceType): void {
    if (this.gateways.affects(type)) this.gateways.refresh();
  }

  /**
   * The first pool address no LoadBalancer Service or Gateway holds, other than `self` (the object
   * being written): Services and Gateways share the pool, like a cloud or MetalLB pool would.
   */
  private freeLbAddress(selfType: 'service' | 'gateway', self: KubeObject): string | undefined {
    const isSelf = (o: KubeObject) => o.metadata.namespace === self.metadata.namespace && o.metadata.name === self.metadata.name;
    const used = new Set<string>(this.gateways.addressesInUse(selfType === 'gateway' ? self : undefined));
    for (const s of this.store.list(this.servicesType)) {
      const ip = s.status?.loadBalancer?.ingress?.[0]?.ip;
      if (ip && !(selfType === 'service' && isSelf(s))) used.add(ip);
    }
    return this.lbIpPool.find((candidate) => !used.has(candidate));
  }

  /** Fills defaults the real API server adds (before validation). */
  applyDefaults(type: ResourceType, object: KubeObject): void {
    const key = `${type.group}/${type.resource}`;
    const spec: Obj = object.spec ?? {};
    switch (key) {
      case '/services':
        object.spec = spec;
        spec.type ??= 'ClusterIP';
        spec.sessionAffinity ??= 'None';
        if (spec.type !== 'ExternalName') {
          spec.internalTrafficPolicy ??= 'Cluster';
          spec.ipFamilies ??= ['IPv4'];
          spec.ipFamilyPolicy ??= 'SingleStack';
        }
        if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') spec.externalTrafficPolicy ??= 'Cluster';
        if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
        for (const port of (spec.ports ?? []) as Obj[]) {
          port.protocol ??= 'TCP';
          port.targetPort ??= port.port;
        }
        break;
      case '/secrets':
        object.type ??= 'Opaque';
        break;
      case '/namespaces':
        object.metadata.labels = { ...object.metadata.labels, 'kubernetes.io/metadata.name': object.metadata.name! };
        object.spec = { finalizers: ['kubernetes'], ...spec };
        break;
      case '/pods':
        object.spec = spec;
        spec.restartPolicy ??= 'Always';
        spec.dnsPolicy ??= 'ClusterFirst';
        spec.schedulerName ??= 'default-scheduler';
        spec.terminationGracePeriodSeconds ??= 30;
        spec.nodeName ??= 'emulator-node';
        break;
      case 'apps/deployments':
        object.spec = spec;
        spec.replicas ??= 1;
        spec.revisionHistoryLimit ??= 10;
        spec.progressDeadlineSeconds ??= 600;
        spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } };
        break;
      case 'apps/statefulsets':
        object.spec = spec;
        spec.replicas ??= 1;
        spec.podManagementPolicy ??= 'OrderedReady';
        spec.revisionHistoryLimit ??= 10;
        spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { partition: 0 } };
        spec.persistentVolumeClaimRetentionPolicy ??= { whenDeleted: 'Retain', whenScaled: 'Retain' };
        break;
      case 'apps/daemonsets':
        object.spec = spec;
        spec.revisionHistoryLimit ??= 10;
        spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } };
        break;
      case 'apps/replicasets':
        object.spec = spec;
        spec.replicas ??= 1;
        break;
      case 'batch/jobs':
        object.spec = spec;
        spec.completions ??= 1;
        spec.parallelism ??= 1;
        spec.backoffLimit ??= 6;
        spec.completionMode ??= 'NonIndexed';
        spec.suspend ??= false;
        break;
      case 'batch/cronjobs':
        object.spec = spec;
        spec.concurrencyPolicy ??= 'Allow';
        spec.suspend ??= false;
        spec.successfulJobsHistoryLimit ??= 3;
        spec.failedJobsHistoryLimit ??= 1;
        break;
      case '/persistentvolumeclaims':
        object.spec = spec;
        spec.volumeMode ??= 'Filesystem';
        break;
      default:
        applyGatewayApiDefaults(type, object);
    }
  }

  /**
   * Allocates and sets status for a write of the main resource (not for `/status` writes, which
   * belong to whoever makes them). Dry runs need no special care: allocations live in the stored
   * objects, so an object that is not stored holds nothing.
   */
  reconcile(type: ResourceType, object: KubeObject, previous: KubeObject | undefined): void {
    const key = `${type.group}/${type.resource}`;
    const spec: Obj = object.spec ?? {};
    const generation = object.metadata.generation;
    const name = object.metadata.name!;
    switch (key) {
      case '/services':
        this.reconcileService(object, previous);
        break;
      case '/namespaces':
        object.status = { phase: object.metadata.deletionTimestamp ? 'Terminating' : 'Active' };
        break;
      case '/pods':
        object.status = this.podStatus(object, previous);
        break;
      case '/persistentvolumeclaims':
        spec.volumeName ??= `pvc-${object.metadata.uid}`;
        object.status = {
          phase: 'Bound',
          accessModes: spec.accessModes ?? ['ReadWriteOnce'],
          capacity: { storage: spec.resources?.requests?.storage ?? '1Gi' },
        };
        break;
      case 'apps/deployments': {
        const replicas = spec.replicas as number;
        const old = previous?.status?.conditions as Obj[] | undefined;
        const stamps = ['lastUpdateTime', 'lastTransitionTime'];
        object.status = {
          observedGeneration: generation,
          ...counts({ replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas }),
          conditions: [
            condition(old, { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }, stamps),
            condition(old, { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${name}-${templateHash(spec.template)}" has successfully progressed.` }, stamps),
          ],
        };
        break;
      }
      case 'apps/statefulsets': {
        const replicas = spec.replicas as number;
        const revision = `${name}-${templateHash(spec.template)}`;
        object.status = {
          observedGeneration: generation,
          replicas,
          ...counts({ readyReplicas: replicas, currentReplicas: replicas, updatedReplicas: replicas }),
          currentRevision: revision,
          updateRevision: revision,
          collisionCount: 0,
          ...counts({ availableReplicas: replicas }),
        };
        break;
      }
      case 'apps/daemonsets':
        object.status = {
          currentNumberScheduled: 1,
          numberMisscheduled: 0,
          desiredNumberScheduled: 1,
          numberReady: 1,
          observedGeneration: generation,
          updatedNumberScheduled: 1,
          numberAvailable: 1,
        };
        break;
      case 'apps/replicasets': {
        const replicas = spec.replicas as number;
        object.status = { replicas, ...counts({ fullyLabeledReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas }), observedGeneration: generation };
        break;
      }
      case 'batch/jobs':
        object.status = this.jobStatus(object, previous);
        break;
      case 'batch/cronjobs':
        object.status = previous?.status ?? {};
        break;
      case 'gateway.networking.k8s.io/gateways':
        this.gateways.reconcile(object, previous);
        break;
      case 'networking.k8s.io/ingresses':
        object.status = previous?.status ?? { loadBalancer: {} };
        break;
      case 'policy/poddisruptionbudgets':
        object.status = {
          observedGeneration: generation,
          disruptionsAllowed: 0,
          currentHealthy: 0,
          desiredHealthy: 0,
          expectedPods: 0,
          conditions: [
            condition(previous?.status?.conditions, { type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods' }, ['lastTransitionTime']),
          ],
        };
        break;
      case 'autoscaling/horizontalpodautoscalers': {
        const replicas = spec.minReplicas ?? 1;
        object.status = { currentReplicas: replicas, desiredReplicas: replicas };
        break;
      }
      case 'apiextensions.k8s.io/customresourcedefinitions': {
        const names: Obj = { ...spec.names };
        names.singular ??= String(names.kind ?? '').toLowerCase();
        names.listKind ??= `${names.kind}List`;
        const storage = ((spec.versions ?? []) as Obj[]).find((v) => v.storage) ?? spec.versions?.[0];
        const old = previous?.status?.conditions as Obj[] | undefined;
        object.status = {
          conditions: [
            condition(old, { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found' }, ['lastTransitionTime']),
            condition(old, { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' }, ['lastTransitionTime']),
          ],
          acceptedNames: names,
          storedVersions: [...new Set([...(previous?.status?.storedVersions ?? []), ...(storage?.name ? [storage.name] : [])])],
        };
        break;
      }
    }
  }

  private otherServices(object: KubeObject): Obj[] {
    return this.store
      .list(this.servicesType)
      .filter((s) => !(s.metadata.namespace === object.metadata.namespace && s.metadata.name === object.metadata.name));
  }

  private reconcileService(object: KubeObject, previous: KubeObject | undefined): void {
    const spec: Obj = object.spec;
    const others = this.otherServices(object);
    const where = { group: '', kind: 'Service', name: object.metadata.name! };

    // Like the real registry, an update that omits allocated values keeps them.
    if (previous && spec.type !== 'ExternalName' && previous.spec?.type !== 'ExternalName') {
      if (!spec.clusterIP && previous.spec?.clusterIP) {
        spec.clusterIP = previous.spec.clusterIP;
        spec.clusterIPs ??= previous.spec.clusterIPs;
      }
    }
    if (spec.type === 'ExternalName') {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    } else if (spec.clusterIP === 'None') {
      spec.clusterIPs = ['None'];
    } else if (spec.clusterIP) {
      const wanted = String(spec.clusterIP);
      if (!previous || previous.spec?.clusterIP !== wanted) {
        const n = ipToNumber(wanted);
        const inUse = others.some((s) => s.spec?.clusterIP === wanted);
        const reason = !/^\d+\.\d+\.\d+\.\d+$/.test(wanted) || n < serviceCidr.first || n > serviceCidr.last
          ? `failed to allocate IP ${wanted}: the provided IP (${wanted}) is not in the valid range. The range of valid IPs is 10.96.0.0/12`
          : inUse ? `failed to allocate IP ${wanted}: provided IP is already allocated` : undefined;
        if (reason) throw invalid({ ...where, causes: [{ field: 'spec.clusterIPs', reason: 'FieldValueInvalid', message: `Invalid value: []string{${JSON.stringify(wanted)}}: ${reason}` }] });
      }
      spec.clusterIPs = [wanted];
    } else {
      const used = new Set(others.map((s) => s.spec?.clusterIP).filter(Boolean));
      let n = serviceCidr.first;
      while (used.has(numberToIp(n)) && n <= serviceCidr.last) n++;
      spec.clusterIP = numberToIp(n);
      spec.clusterIPs = [spec.clusterIP];
    }

    const ports: Obj[] = spec.ports ?? [];
    const needsNodePorts = spec.type === 'NodePort' || (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
    if (needsNodePorts) {
      const usedElsewhere = new Set<number>();
      for (const s of others) for (const p of (s.spec?.ports ?? []) as Obj[]) if (p.nodePort) usedElsewhere.add(p.nodePort);
      if (previous) {
        const byName = new Map<string, number>(((previous.spec?.ports ?? []) as Obj[]).filter((p) => p.nodePort).map((p) => [p.name ?? '', p.nodePort]));
        const taken = new Set(ports.map((p) => p.nodePort).filter(Boolean));
        for (const port of ports) {
          const old = byName.get(port.name ?? '');
          if (!port.nodePort && old && !taken.has(old)) {
            port.nodePort = old;
            taken.add(old);
          }
        }
      }
      const mine = new Map<number, string>();
      ports.forEach((port, i) => {
        if (!port.nodePort) return;
        const n = port.nodePort;
        const field = `spec.ports[${i}].nodePort`;
        if (!Number.isInteger(n) || n < nodePortRange.min || n > nodePortRange.max) {
          throw invalid({ ...where, causes: [{ field, reason: 'FieldValueInvalid', message: `Invalid value: ${n}: provided port is not in the valid range. The range of valid ports is ${nodePortRange.min}-${nodePortRange.max}` }] });
        }
        const sameServiceProtocol = mine.get(n);
        const wasMine = ((previous?.spec?.ports ?? []) as Obj[]).some((p) => p.nodePort === n);
        if ((usedElsewhere.has(n) && !wasMine) || sameServiceProtocol === port.protocol) {
          throw invalid({ ...where, causes: [{ field, reason: 'FieldValueInvalid', message: `Invalid value: ${n}: provided port is already allocated` }] });
        }
        mine.set(n, port.protocol);
      });
      let next = nodePortRange.min;
      for (const port of ports) {
        if (port.nodePort) continue;
        while (usedElsewhere.has(next) || mine.has(next)) next++;
        if (next > nodePortRange.max) throw invalid({ ...where, causes: [{ field: 'spec.ports', reason: 'FieldValueInvalid', message: 'Invalid value: "": failed to allocate a nodePort: range is full' }] });
        port.nodePort = next;
        mine.set(next, port.protocol);
      }
    } else {
      for (const port of ports) delete port.nodePort;
    }

    if (spec.type === 'LoadBalancer') {
      const current = (previous?.spec?.type === 'LoadBalancer' ? previous.status?.loadBalancer?.ingress?.[0]?.ip : undefined) as string | undefined;
      const ip = current ?? this.freeLbAddress('service', object);
      object.status = ip
        ? { loadBalancer: { ingress: [{ ip, ipMode: 'VIP', ...(previous?.status?.loadBalancer?.ingress?.[0]?.ip === ip ? pick(previous.status.loadBalancer.ingress[0], ['hostname', 'ports']) : {}) }] } }
        : { loadBalancer: {} };
    } else {
      object.status = { loadBalancer: {} };
    }
  }

  private podStatus(object: KubeObject, previous: KubeObject | undefined): Obj {
    if (previous?.status?.phase) return previous.status;
    const spec: Obj = object.spec ?? {};
    const started = now();
    const completes = spec.restartPolicy === 'Never' || spec.restartPolicy === 'OnFailure';
    this.podIps++;
    const containers = ((spec.containers ?? []) as Obj[]).map((c) => ({
      name: c.name,
      state: completes
        ? { terminated: { exitCode: 0, reason: 'Completed', startedAt: started, finishedAt: started, containerID: `containerd://${templateHash([object.metadata.uid, c.name], 32)}` } }
        : { running: { startedAt: started } },
      ready: !completes,
      restartCount: 0,
      image: c.image,
      imageID: '',
      containerID: `containerd://${templateHash([object.metadata.uid, c.name], 32)}`,
      started: !completes,
    }));
    const ready = completes ? 'False' : 'True';
    const conditions: Obj[] = [
      { type: 'PodReadyToStartContainers', status: completes ? 'False' : 'True', lastProbeTime: null, lastTransitionTime: started },
      { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: started, ...(completes ? { reason: 'PodCompleted' } : {}) },
      { type: 'Ready', status: ready, lastProbeTime: null, lastTransitionTime: started, ...(completes ? { reason: 'PodCompleted' } : {}) },
      { type: 'ContainersReady', status: ready, lastProbeTime: null, lastTransitionTime: started, ...(completes ? { reason: 'PodCompleted' } : {}) },
      { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: started },
    ];
    const podIp = `10.244.${Math.floor(this.podIps / 250) % 256}.${(this.podIps % 250) + 2}`;
    return {
      observedGeneration: object.metadata.generation,
      phase: completes ? 'Succeeded' : 'Running',
      conditions,
      hostIP: '10.0.0.10',
      hostIPs: [{ ip: '10.0.0.10' }],
      podIP: podIp,
      podIPs: [{ ip: podIp }],
      startTime: started,
      containerStatuses: containers,
      qosClass: 'BestEffort',
    };
  }

  private jobStatus(object: KubeObject, previous: KubeObject | undefined): Obj {
    const spec: Obj = object.spec ?? {};
    if (previous?.status?.completionTime) return previous.status;
    if (spec.suspend) {
      return { conditions: [condition(undefined, { type: 'Suspended', status: 'True', reason: 'JobSuspended', message: 'Job suspended' }, ['lastProbeTime', 'lastTransitionTime'])] };
    }
    const stamp = now();
    const completed = { reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' };
    return {
      conditions: [
        { type: 'SuccessCriteriaMet', status: 'True', lastProbeTime: stamp, lastTransitionTime: stamp, ...completed },
        { type: 'Complete', status: 'True', lastProbeTime: stamp, lastTransitionTime: stamp, ...completed },
      ],
      startTime: previous?.status?.startTime ?? stamp,
      completionTime: stamp,
      succeeded: spec.completions ?? 1,
      terminating: 0,
      uncountedTerminatedPods: {},
      ready: 0,
    };
  }
}

/** Omits zero counters, as the real API does (`omitempty`). */
function counts(values: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v));
}

function pick(source: Obj, keys: string[]): Obj {
  return Object.fromEntries(keys.filter((k) => source[k] !== undefined).map((k) => [k, source[k]]));
}
