// Brings a controller Service's ports in line with its ConfigMaps, with CAS on the Service.
//
// Order matters across replicas: the Service is read first and the ConfigMaps after it. A claim
// writes its ConfigMap entry before opening the Service port, so any port of ours seen on the
// Service has its entry visible in the later ConfigMap read (unless it was deleted since), and a
// port another replica just opened is never removed by mistake. The write is conditional on the
// Service's resourceVersion, so a port opened after the Service was read makes it fail with 409.
//
// Reads a caller has just made count as such reads: a claim has listed the controller Service
// before its ConfigMap change and holds the ConfigMap as written, so its reconcile can write the
// Service at once (one request instead of three) as long as that order is kept (startingPoint);
// after a 409 everything is read again.
import type { V1ConfigMap, V1Service } from '@kubernetes/client-node';
import { FunctionError } from '../../errors.js';
import { isConflict, isNotFound } from '../../kube.js';
import { backoffDelay, sleep } from '../../backoff.js';
import { casOptions, type CasOptions } from '../cas-writer.js';
import type { Controller } from './controllers.js';
import type { Protocol } from './entries.js';
import type { IngressKube } from './kube-api.js';
import { planServicePorts, type PortChange } from './service-ports.js';

/** Objects a caller already holds, so that a reconcile need not read them again. */
export interface SyncHints {
  /** The controller Service, read before the caller's ConfigMap change (e.g. the controller list). */
  service?: V1Service;
  /** Per protocol, the ConfigMap as it stood right after the caller's change (ConfigMapWriter's answer). */
  configMaps?: Partial<Record<Protocol, V1ConfigMap>>;
}

export interface ServiceSync {
  /**
   * Resolves after a reconcile of `protocols` that reflects every ConfigMap change made before this
   * call. Coalesced: calls that arrive while one runs share the next run.
   */
  sync(controller: Controller, protocols: readonly Protocol[], hints?: SyncHints): Promise<PortChange[]>;
}

/**
 * What the reconciles of one controller may start from: Services seen, and per protocol the
 * ConfigMaps that carry the callers' changes (undefined for a caller that gave none).
 */
export interface Known {
  services: V1Service[];
  configMaps: Partial<Record<Protocol, (V1ConfigMap | undefined)[]>>;
}

/**
 * The first round's Service and ConfigMaps out of what is known, keeping the order the reconcile
 * needs: the Service was seen before each ConfigMap used with it, and each ConfigMap used is, or
 * was seen after, every caller's one. The freshest Service known is taken (the write is
 * conditional on it; a stale one only costs a 409 and a fresh round). Whatever is not given here is
 * read.
 */
export function startingPoint(
  kube: Pick<IngressKube, 'seenAt'>,
  known: Known,
  protocols: readonly Protocol[],
): { service?: V1Service; configMaps: Partial<Record<Protocol, V1ConfigMap>> } {
  let service: V1Service | undefined;
  for (const candidate of known.services) {
    const seen = kube.seenAt(candidate);
    if (seen && (!service || seen.received > kube.seenAt(service)!.received)) service = candidate;
  }
  if (!service) return { configMaps: {} };
  const serviceSeen = kube.seenAt(service)!;
  const configMaps: Partial<Record<Protocol, V1ConfigMap>> = {};
  for (const protocol of protocols) {
    const list = known.configMaps[protocol] ?? [];
    const seen = list.map((c) => (c === undefined ? undefined : kube.seenAt(c)));
    if (list.length === 0 || seen.some((s) => s === undefined)) continue;
    let newest = 0;
    seen.forEach((s, i) => {
      if (s!.sent > seen[newest]!.sent) newest = i;
    });
    const after = seen[newest]!.sent;
    if (after > serviceSeen.received && seen.every((s, i) => i === newest || s!.received < after)) configMaps[protocol] = list[newest];
  }
  return { service, configMaps };
}

function disappeared(ref: { namespace: string; name: string }): FunctionError {
  return new FunctionError('NO_INGRESS_CONTROLLER', `Ingress controller Service ${ref.namespace}/${ref.name} disappeared`, { service: ref });
}

export async function reconcileService({
  kube,
  controller,
  protocols,
  cas = {},
  dryRun = false,
  known,
  seen,
}: {
  kube: IngressKube;
  controller: Controller;
  protocols: readonly Protocol[];
  cas?: CasOptions;
  /** Only compute the changes. */
  dryRun?: boolean;
  /** What the first round may start from instead of reading (see startingPoint). */
  known?: Known;
  /** Told every Service read or written, so later reconciles may start from it. */
  seen?: (service: V1Service) => void;
}): Promise<PortChange[]> {
  const o = casOptions(cas);
  const ref = controller.service;
  for (let round = 1; ; round++) {
    // After a 409 everything is read again, the Service first.
    const start = round === 1 && known ? startingPoint(kube, known, protocols) : { configMaps: {} };
    const service = start.service ?? (await kube.readService(ref));
    if (!service) throw disappeared(ref);
    if (!start.service) seen?.(service);
    const data: Partial<Record<Protocol, Record<string, string>>> = {};
    await Promise.all(
      protocols.map(async (p) => {
        const configMap = start.configMaps[p] ?? (await kube.readConfigMap(controller.configMaps[p]));
        data[p] = configMap?.data ?? {};
      }),
    );
    const plan = planServicePorts({ ports: service.spec?.ports ?? [], data });
    if (plan.changes.length === 0 || dryRun) return plan.changes;
    try {
      const written = await kube.replaceService(ref, {
        ...service,
        apiVersion: 'v1',
        kind: 'Service',
        spec: { ...service.spec, ports: plan.ports },
      });
      seen?.(written);
      return plan.changes;
    } catch (err) {
      // A Service known from earlier may be gone by now, as a fresh read would have found.
      if (isNotFound(err)) throw disappeared(ref);
      if (!isConflict(err)) throw err;
      if (round >= o.attempts) {
        throw new FunctionError('CONFLICT', `Service ${ref.namespace}/${ref.name} kept changing; gave up after ${round} write attempts`, {
          service: ref,
          attempts: round,
        });
      }
      await sleep(backoffDelay(round - 1, o));
    }
  }
}

interface Waiter {
  protocols: Set<Protocol>;
  controller: Controller;
  known: Known;
  promise: Promise<PortChange[]>;
  resolve(changes: PortChange[]): void;
  reject(err: unknown): void;
}

/** Adds one caller's hints (or the lack of them) to what a run may start from. */
function addHints(known: Known, controller: Controller, protocols: readonly Protocol[], hints: SyncHints = {}): void {
  const service = hints.service ?? controller.object;
  if (service) known.services.push(service);
  for (const p of protocols) (known.configMaps[p] ??= []).push(hints.configMaps?.[p]);
}

export function createServiceSync({ kube, coalesce = true, cas }: { kube: IngressKube; coalesce?: boolean; cas?: CasOptions }): ServiceSync {
  const state = new Map<string, { running: boolean; next?: Waiter }>();
  // The last Service each controller was read or written as: often fresher than a caller's copy.
  const latest = new Map<string, V1Service>();
  // The newest ConfigMap any caller handed in, per ConfigMap: a caller's own copy may be older than
  // one an earlier caller wrote (a claim's entry that a delete has removed since).
  const latestConfigMaps = new Map<string, V1ConfigMap>();
  const keyOf = (ref: { namespace: string; name: string }) => `${ref.namespace}/${ref.name}`;
  const newer = (a: object, b: object | undefined) => !b || (kube.seenAt(a)?.received ?? 0) > (kube.seenAt(b)?.received ?? 0);
  const remember = (controller: Controller, hints: SyncHints = {}) => {
    for (const [p, configMap] of Object.entries(hints.configMaps ?? {}) as [Protocol, V1ConfigMap | undefined][]) {
      const k = keyOf(controller.configMaps[p]);
      if (configMap && newer(configMap, latestConfigMaps.get(k))) latestConfigMaps.set(k, configMap);
    }
  };

  const reconcile = (controller: Controller, protocols: readonly Protocol[], known: Known) => {
    const k = keyOf(controller.service);
    const last = latest.get(k);
    const configMaps = { ...known.configMaps };
    for (const p of protocols) {
      const newest = latestConfigMaps.get(keyOf(controller.configMaps[p]));
      if (newest && !(configMaps[p] ?? []).includes(newest)) configMaps[p] = [...(configMaps[p] ?? []), newest];
    }
    return reconcileService({
      kube,
      controller,
      protocols,
      cas,
      known: { services: last ? [...known.services, last] : known.services, configMaps },
      seen: (service) => {
        if (newer(service, latest.get(k))) latest.set(k, service);
      },
    });
  };

  const start = (k: string) => {
    const s = state.get(k)!;
    const job = s.next!;
    s.next = undefined;
    s.running = true;
    reconcile(job.controller, [...job.protocols], job.known)
      .then(job.resolve, job.reject)
      .finally(() => {
        s.running = false;
        if (s.next) start(k);
        else state.delete(k);
      });
  };

  return {
    sync(controller, protocols, hints) {
      remember(controller, hints);
      if (!coalesce) {
        const known: Known = { services: [], configMaps: {} };
        addHints(known, controller, protocols, hints);
        return reconcile(controller, protocols, known);
      }
      const k = keyOf(controller.service);
      let s = state.get(k);
      if (!s) state.set(k, (s = { running: false }));
      if (!s.next) {
        let resolve!: Waiter['resolve'];
        let reject!: Waiter['reject'];
        const promise = new Promise<PortChange[]>((res, rej) => {
          resolve = res;
          reject = rej;
        });
        s.next = { protocols: new Set(), controller, known: { services: [], configMaps: {} }, promise, resolve, reject };
      }
      for (const p of protocols) s.next.protocols.add(p);
      addHints(s.next.known, controller, protocols, hints);
      s.next.controller = controller;
      const { promise } = s.next;
      if (!s.running) start(k);
      return promise;
    },
  };
}
