// The evaluator used by the RBAC sufficiency test must itself be right, or that test proves nothing.
import { describe, expect, test } from 'vitest';
import { createAuthorizer, type RbacObject } from './rbac-evaluator.js';

const sa = 'system:serviceaccount:openfaas-fn:fn';
const objects: RbacObject[] = [
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'r', namespace: 'ingress' },
    rules: [
      { apiGroups: [''], resources: ['services'], verbs: ['get', 'list'] },
      { apiGroups: [''], resources: ['configmaps'], resourceNames: ['tcp'], verbs: ['get', 'update'] },
    ],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'rb', namespace: 'ingress' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r' },
    subjects: [{ kind: 'ServiceAccount', name: 'fn', namespace: 'openfaas-fn' }],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'cr' },
    rules: [
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['create'] },
      { apiGroups: [''], resources: ['namespaces'], verbs: ['get'] },
    ],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'crb-in-tenant', namespace: 'tenant' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cr' },
    subjects: [{ kind: 'Group', name: 'system:serviceaccounts:openfaas-fn' }],
  },
];
const allow = createAuthorizer(objects);

describe('rbac evaluator', () => {
  test.each([
    [{ verb: 'list', group: '', resource: 'services', namespace: 'ingress' }, true],
    [{ verb: 'list', group: '', resource: 'services', namespace: 'other' }, false],
    [{ verb: 'delete', group: '', resource: 'services', namespace: 'ingress', name: 'x' }, false],
    [{ verb: 'get', group: '', resource: 'services', subresource: 'status', namespace: 'ingress', name: 'x' }, false],
    [{ verb: 'update', group: '', resource: 'configmaps', namespace: 'ingress', name: 'tcp' }, true],
    [{ verb: 'update', group: '', resource: 'configmaps', namespace: 'ingress', name: 'udp' }, false],
    [{ verb: 'get', group: '', resource: 'configmaps', namespace: 'ingress' }, false],
    [{ verb: 'create', group: 'apps', resource: 'deployments', namespace: 'tenant' }, true],
    [{ verb: 'create', group: '', resource: 'deployments', namespace: 'tenant' }, false],
    [{ verb: 'create', group: 'apps', resource: 'deployments', namespace: 'ingress' }, false],
    // A ClusterRole bound by a RoleBinding never reaches cluster-scoped resources.
    [{ verb: 'get', group: '', resource: 'namespaces', name: 'tenant' }, false],
  ])('%j -> %s', (req, expected) => {
    expect(allow({ user: sa, ...req })).toBe(expected);
  });

  test('other users get nothing', () => {
    expect(allow({ user: 'system:serviceaccount:openfaas-fn:other', verb: 'list', group: '', resource: 'services', namespace: 'ingress' })).toBe(false);
    expect(allow({ user: 'system:serviceaccount:default:fn', verb: 'create', group: 'apps', resource: 'deployments', namespace: 'tenant' })).toBe(false);
  });
});
