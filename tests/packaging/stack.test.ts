// stack.yml, functions/ and rbac/ agree with each other, and rbac/ stays least-privilege.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { isMap, isSeq, parse, parseAllDocuments, type YAMLMap, type YAMLSeq } from 'yaml';
import { loadManifests, rbacFiles, type RbacObject } from './rbac-evaluator.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface StackFunction {
  lang: string;
  handler: string;
  image: string;
  readonly_root_filesystem?: boolean;
  secrets?: string[];
  annotations?: Record<string, string>;
  environment?: Record<string, string>;
}
interface Stack {
  version: number | string;
  provider: { name: string; gateway: string };
  configuration?: { templates?: { name: string; source?: string }[] };
  functions: Record<string, StackFunction>;
}

const stack = parse(readFileSync(path.join(root, 'stack.yml'), 'utf8')) as Stack;
const files = rbacFiles(path.join(root, 'rbac'));
const objects = loadManifests(files);
const seconds = (value: string | undefined) => Number(/^(\d+)s$/.exec(value ?? '')?.[1] ?? NaN);

describe('stack.yml', () => {
  test('is an OpenFaaS stack on the local gateway using the local template', () => {
    expect(String(stack.version)).toBe('1');
    expect(stack.provider).toEqual({ name: 'openfaas', gateway: 'http://127.0.0.1:8080' });
    expect(stack.configuration?.templates).toEqual([{ name: 'node20-helm-ts' }]);
    expect(existsSync(path.join(root, 'template', 'node20-helm-ts', 'template.yml'))).toBe(true);
  });

  test('lists exactly the function folders, each with handler.ts and schema.json', () => {
    const folders = readdirSync(path.join(root, 'functions'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    expect(Object.keys(stack.functions).sort()).toEqual(folders);
    expect(folders).toEqual(['deploy-and-expose', 'helm', 'ingress-rule', 'port-lookup', 'undeploy']);
    for (const name of folders) {
      expect(existsSync(path.join(root, 'functions', name, 'handler.ts')), `${name}/handler.ts`).toBe(true);
      expect(() => JSON.parse(readFileSync(path.join(root, 'functions', name, 'schema.json'), 'utf8')), `${name}/schema.json`).not.toThrow();
    }
  });

  test.each(Object.entries(stack.functions))('%s: template, handler, image, read-only root, token secret', (name, fn) => {
    expect(fn.lang).toBe('node20-helm-ts');
    expect(fn.handler).toBe(`./functions/${name}`);
    expect(fn.image).toBe(`\${REGISTRY:-ghcr.io/example}/${name}:\${TAG:-0.1.0}`);
    expect(fn.readonly_root_filesystem).toBe(true);
    expect(fn.secrets).toEqual(['helm-deployer-token']);
  });

  test.each(Object.entries(stack.functions))('%s: its ServiceAccount exists in rbac/ (namespace openfaas-fn)', (name, fn) => {
    const account = fn.annotations?.['com.openfaas.serviceaccount'];
    expect(account, name).toBeTruthy();
    const found = objects.filter((o) => o.kind === 'ServiceAccount' && o.metadata.name === account && o.metadata.namespace === 'openfaas-fn');
    expect(found.length).toBeGreaterThan(0);
    // ingress.yaml and gateway-api.yaml each define the ingress functions' account (one or the other is applied).
    for (const other of found) expect(other).toEqual(found[0]);
  });

  test('watchdog timeouts exceed helm timeouts; the orchestrators outlast the helm function', () => {
    const helm = stack.functions.helm.environment!;
    const helmTimeout = Number(helm.HELM_TIMEOUT_SECONDS);
    expect(seconds(helm.exec_timeout)).toBeGreaterThan(helmTimeout);
    for (const name of Object.keys(stack.functions)) {
      const env = stack.functions[name].environment!;
      expect(seconds(env.write_timeout), name).toBeGreaterThan(seconds(env.exec_timeout));
      expect(seconds(env.read_timeout), name).toBeGreaterThan(0);
    }
    for (const name of ['deploy-and-expose', 'undeploy']) {
      const env = stack.functions[name].environment!;
      expect(env.GATEWAY_URL).toBe('http://gateway.openfaas:8080');
      expect(Number(env.HELM_TIMEOUT_SECONDS)).toBe(helmTimeout);
      expect(seconds(env.exec_timeout), name).toBeGreaterThan(seconds(helm.exec_timeout));
    }
  });

  test('the ingress functions agree on the backend and controller settings', () => {
    const keys = ['EXPOSURE_BACKEND', 'LoadBalancerNamespace', 'IngressLabel', 'PORT_RANGE'] as const;
    const pick = (name: string) => Object.fromEntries(keys.map((k) => [k, stack.functions[name].environment?.[k]]));
    expect(pick('ingress-rule')).toEqual(pick('port-lookup'));
    expect(pick('ingress-rule')).toEqual({
      EXPOSURE_BACKEND: 'ingress-nginx',
      LoadBalancerNamespace: 'ingress-nginx',
      IngressLabel: 'ingress-nginx',
      PORT_RANGE: '20000-30000',
    });
    // Only the functions that make rules choose a backend.
    for (const name of ['helm', 'deploy-and-expose', 'undeploy']) expect(stack.functions[name].environment?.EXPOSURE_BACKEND, name).toBeUndefined();
  });
});

describe('rbac/', () => {
  test('every file parses into Kubernetes objects', () => {
    expect(files.map((f) => path.basename(f))).toEqual([
      'community-edition.yaml',
      'gateway-api.yaml',
      'helm-cluster-wide.yaml',
      'helm.yaml',
      'ingress.yaml',
      'orchestrator.yaml',
    ]);
    for (const o of objects) {
      expect(o.apiVersion).toMatch(/^(v1|rbac\.authorization\.k8s\.io\/v1)$/);
      expect(['ServiceAccount', 'Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']).toContain(o.kind);
      expect(o.metadata.name).toMatch(/^[a-z0-9-]+$/);
    }
  });

  test('no cluster-admin, no wildcard verbs, resources or API groups, no escalation verbs', () => {
    for (const o of objects) {
      if (o.roleRef) expect(['cluster-admin', 'admin', 'edit']).not.toContain(o.roleRef.name);
      for (const rule of o.rules ?? []) {
        for (const list of [rule.verbs, rule.resources ?? [], rule.apiGroups ?? []]) expect(list).not.toContain('*');
        expect(rule.verbs.filter((v) => ['escalate', 'bind', 'impersonate'].includes(v))).toEqual([]);
        expect(rule.resources ?? []).not.toContain('roles');
        expect(rule.resources ?? []).not.toContain('rolebindings');
        expect(rule.nonResourceURLs).toBeUndefined();
      }
    }
  });

  test('every binding refers to a role defined here, for a ServiceAccount of openfaas-fn that exists (or default)', () => {
    const roles = new Set(objects.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole').map((o) => `${o.kind}/${o.metadata.name}`));
    const accounts = new Set(objects.filter((o) => o.kind === 'ServiceAccount').map((o) => o.metadata.name));
    const bindings = objects.filter((o) => o.kind.endsWith('Binding'));
    expect(bindings.length).toBeGreaterThan(0);
    for (const b of bindings as Required<RbacObject>[]) {
      expect(roles.has(`${b.roleRef.kind}/${b.roleRef.name}`), `${b.metadata.name} -> ${b.roleRef.name}`).toBe(true);
      for (const s of b.subjects) {
        expect(s.kind).toBe('ServiceAccount');
        expect(s.namespace).toBe('openfaas-fn');
        expect(s.name === 'default' || accounts.has(s.name), s.name).toBe(true);
      }
    }
  });

  test('the orchestrators account holds no permission and mounts no token', () => {
    const sa = objects.find((o) => o.kind === 'ServiceAccount' && o.metadata.name === 'helm-deployer-orchestrator') as RbacObject & {
      automountServiceAccountToken?: boolean;
    };
    expect(sa.automountServiceAccountToken).toBe(false);
    expect(objects.filter((o) => o.subjects?.some((s) => s.name === 'helm-deployer-orchestrator'))).toEqual([]);
  });

  test('gateway-api.yaml replaces ingress.yaml: same ServiceAccount, rules only on its own resources', () => {
    const [ingress, gateway] = ['ingress.yaml', 'gateway-api.yaml'].map((f) => loadManifests([path.join(root, 'rbac', f)]));
    const accounts = (list: RbacObject[]) => list.filter((o) => o.kind === 'ServiceAccount');
    expect(accounts(gateway)).toEqual(accounts(ingress));
    for (const b of gateway.filter((o) => o.kind.endsWith('Binding'))) {
      expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: 'helm-deployer-ingress', namespace: 'openfaas-fn' }]);
    }
    // Gateway API objects and reading backend Services; nothing of ingress-nginx (no ConfigMaps, no Service writes).
    const granted = gateway.flatMap((o) => (o.rules ?? []).flatMap((r) => (r.resources ?? []).flatMap((res) => r.verbs.map((v) => `${v} ${r.apiGroups?.join(',')}/${res}`))));
    expect(granted.filter((g) => !g.includes('gateway.networking.k8s.io/')).sort()).toEqual(['get /services']);
    expect(granted.filter((g) => /^(create|delete|patch|deletecollection) gateway\.networking\.k8s\.io\/gateways$/.test(g))).toEqual([]);
  });

  test('community-edition.yaml binds openfaas-fn:default to every role helm.yaml, ingress.yaml and gateway-api.yaml bind, in the same place', () => {
    const ce = loadManifests([path.join(root, 'rbac', 'community-edition.yaml')]);
    const where = (o: RbacObject) => `${o.kind} ${o.metadata.namespace ?? '(cluster)'} -> ${o.roleRef!.kind}/${o.roleRef!.name}`;
    const dedicated = loadManifests(['helm.yaml', 'ingress.yaml', 'gateway-api.yaml'].map((f) => path.join(root, 'rbac', f)))
      .filter((o) => o.kind.endsWith('Binding'))
      .map(where)
      .sort();
    const forDefault = ce.filter((o) => o.subjects?.every((s) => s.name === 'default' && s.namespace === 'openfaas-fn')).map(where).sort();
    expect(forDefault).toEqual(dedicated);
    expect(ce.every((o) => o.kind.endsWith('Binding'))).toBe(true);
  });

  test('every rule carries a comment explaining it', () => {
    for (const file of files) {
      for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
        const rules: unknown = (doc.contents as YAMLMap | null)?.get('rules', true);
        if (!rules) continue;
        if (!isSeq(rules)) throw new Error(`${path.basename(file)}: rules is not a list`);
        (rules as YAMLSeq).items.forEach((item, i) => {
          expect(isMap(item)).toBe(true);
          const comment = (item as YAMLMap).commentBefore ?? (i === 0 ? (rules as YAMLSeq).commentBefore : undefined);
          expect(comment?.trim().length ?? 0, `${path.basename(file)} ${String(doc.getIn(['metadata', 'name']))} rule ${i}`).toBeGreaterThan(20);
        });
      }
    }
  });
});
