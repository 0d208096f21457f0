// Brings a controller Service's ports in line with its ConfigMaps, with CAS on the Service.
//
// Order matters across replicas: the Service is read first and the ConfigMaps after it. A claim
// writes its ConfigMap entry before opening the Service port, so any port of ours seen on the
// Service has its entry visible in the later ConfigMap read (unless it was deleted since), and a
// port another replica just opened is never removed by mistake.
import { FunctionError } from '../../errors.js';
import { isConflict } from '../../kube.js';
import { backoffDelay, sleep } from '../../backoff.js';
import { DEFAULT_CAS, type CasOptions } from './configmap-writer.js';
import type { Controller } from './controllers.js';
import type { Protocol } from './entries.js';
import type { IngressKube } from './kube-api.js';
import { planServicePorts, type PortChange } from './service-ports.js';

export interface ServiceSync {
  /**
   * Resolves after a reconcile of `protocols` that started after this call. Coalesced: calls that
   * arrive while one runs share the next run.
   */
  sync(controller: Controller, protocols: readonly Protocol[]): Promise<PortChange[]>;
}

export async function reconcileService({
  kube,
  controller,
  protocols,
  cas = {},
  dryRun = false,
}: {
  kube: IngressKube;
  controller: Controller;
  protocols: readonly Protocol[];
  cas?: CasOptions;
  /** Only compute the changes. */
  dryRun?: boolean;
}): Promise<PortChange[]> {
  const o = { ...DEFAULT_CAS, ...Object.fromEntries(Object.entries(cas).filter(([, v]) => v !== undefined)) };
  const ref = controller.service;
  for (let round = 1; ; round++) {
    const service = await kube.readService(ref);
    if (!service) {
      throw new FunctionError('NO_INGRESS_CONTROLLER', `Ingress controller Service ${ref.namespace}/${ref.name} disappeared`, {
        service: ref,
      });
    }
    const data: Partial<Record<Protocol, Record<string, string>>> = {};
    await Promise.all(
      protocols.map(async (p) => {
        data[p] = (await kube.readConfigMap(controller.configMaps[p]))?.data ?? {};
      }),
    );
    const plan = planServicePorts({ ports: service.spec?.ports ?? [], data });
    if (plan.changes.length === 0 || dryRun) return plan.changes;
    try {
      await kube.replaceService(ref, { ...service, spec: { ...service.spec, ports: plan.ports } });
      return plan.changes;
    } catch (err) {
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
  promise: Promise<PortChange[]>;
  resolve(changes: PortChange[]): void;
  reject(err: unknown): void;
}

export function createServiceSync({ kube, coalesce = true, cas }: { kube: IngressKube; coalesce?: boolean; cas?: CasOptions }): ServiceSync {
  const state = new Map<string, { running: boolean; next?: Waiter }>();

  const start = (k: string) => {
    const s = state.get(k)!;
    const job = s.next!;
    s.next = undefined;
    s.running = true;
    reconcileService({ kube, controller: job.controller, protocols: [...job.protocols], cas })
      .then(job.resolve, job.reject)
      .finally(() => {
        s.running = false;
        if (s.next) start(k);
        else state.delete(k);
      });
  };

  return {
    sync(controller, protocols) {
      if (!coalesce) return reconcileService({ kube, controller, protocols, cas });
      const k = `${controller.service.namespace}/${controller.service.name}`;
      let s = state.get(k);
      if (!s) state.set(k, (s = { running: false }));
      if (!s.next) {
        let resolve!: Waiter['resolve'];
        let reject!: Waiter['reject'];
        const promise = new Promise<PortChange[]>((res, rej) => {
          resolve = res;
          reject = rej;
        });
        s.next = { protocols: new Set(), controller, promise, resolve, reject };
      }
      for (const p of protocols) s.next.protocols.add(p);
      s.next.controller = controller;
      const { promise } = s.next;
      if (!s.running) start(k);
      return promise;
    },
  };
}
