// A small Kubernetes RBAC evaluator for the manifests in rbac/: Roles, ClusterRoles, RoleBindings
// and ClusterRoleBindings, matching verbs, apiGroups, resources (with subresources), resourceNames
// and the namespace scope of each binding, for ServiceAccount users
// (system:serviceaccount:<namespace>:<name>) and their groups. Deny by default, like RBAC.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { AuthorizationRequest } from '../../dev/cluster/index.js';

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
  nonResourceURLs?: string[];
}

interface Subject {
  kind: 'ServiceAccount' | 'User' | 'Group';
  name: string;
  namespace?: string;
}

export interface RbacObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: PolicyRule[];
  roleRef?: { apiGroup: string; kind: 'Role' | 'ClusterRole'; name: string };
  subjects?: Subject[];
}

export function loadManifests(files: string[]): RbacObject[] {
  return files.flatMap((file) =>
    parseAllDocuments(readFileSync(file, 'utf8'))
      .map((doc) => doc.toJS() as RbacObject | null)
      .filter((o): o is RbacObject => o !== null),
  );
}

export function rbacFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

function groupsOf(user: string): string[] {
  const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(user);
  return m ? ['system:serviceaccounts', `system:serviceaccounts:${m[1]}`, 'system:authenticated'] : ['system:authenticated'];
}

function subjectMatches(subject: Subject, user: string): boolean {
  if (subject.kind === 'ServiceAccount') return user === `system:serviceaccount:${subject.namespace}:${subject.name}`;
  if (subject.kind === 'User') return user === subject.name;
  return groupsOf(user).includes(subject.name);
}

const has = (list: string[] | undefined, value: string) => (list ?? []).includes('*') || (list ?? []).includes(value);

export function ruleAllows(rule: PolicyRule, req: Omit<AuthorizationRequest, 'user' | 'namespace'>): boolean {
  const resource = req.subresource ? `${req.resource}/${req.subresource}` : req.resource;
  if (!has(rule.verbs, req.verb) || !has(rule.apiGroups, req.group) || !has(rule.resources, resource)) return false;
  // resourceNames can only match a request that names its object (not create, list, watch).
  if (rule.resourceNames && rule.resourceNames.length > 0) return req.name !== undefined && rule.resourceNames.includes(req.name);
  return true;
}

export function createAuthorizer(objects: RbacObject[]): (req: AuthorizationRequest) => boolean {
  const roles = new Map<string, PolicyRule[]>();
  for (const o of objects) {
    if (o.kind === 'Role') roles.set(`Role/${o.metadata.namespace}/${o.metadata.name}`, o.rules ?? []);
    if (o.kind === 'ClusterRole') roles.set(`ClusterRole//${o.metadata.name}`, o.rules ?? []);
  }
  const bindings = objects.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding');
  return (req) =>
    bindings.some((b) => {
      if (!(b.subjects ?? []).some((s) => subjectMatches(s, req.user))) return false;
      // A RoleBinding grants only inside its own namespace, never cluster-scoped resources.
      if (b.kind === 'RoleBinding' && req.namespace !== b.metadata.namespace) return false;
      const ref = b.roleRef!;
      const key = ref.kind === 'Role' ? `Role/${b.metadata.namespace}/${ref.name}` : `ClusterRole//${ref.name}`;
      return (roles.get(key) ?? []).some((rule) => ruleAllows(rule, req));
    });
}
