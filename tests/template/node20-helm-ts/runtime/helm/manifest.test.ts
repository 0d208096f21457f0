import { describe, expect, test } from 'vitest';
import { servicesFromManifest } from '#runtime/helm/manifest.js';

// Shaped like `helm get manifest` output: "---" separators and "# Source:" comments.
const manifest = `---
# Source: app/templates/serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: web-app
---
# Source: app/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: web-app
  labels:
    app: web
spec:
  type: ClusterIP
  ports:
    - name: http
      port: 80
      targetPort: http
      protocol: TCP
    - port: 53
      protocol: UDP
      targetPort: 5353
  selector:
    app: web
---
# Source: app/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-app
spec:
  template:
    spec:
      containers:
        - name: web
          ports:
            - containerPort: 8080
---
# Source: app/templates/extra.yaml
apiVersion: v1
kind: Service
metadata:
  name: metrics
  namespace: monitoring
spec:
  type: LoadBalancer
  ports:
    - port: "9090"
`;

describe('servicesFromManifest', () => {
  test('lists every Service with its ports, defaults filled in', () => {
    expect(servicesFromManifest(manifest, 'team-a')).toEqual([
      {
        name: 'web-app',
        namespace: 'team-a',
        type: 'ClusterIP',
        ports: [
          { name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' },
          { port: 53, protocol: 'UDP', targetPort: 5353 },
        ],
      },
      { name: 'metrics', namespace: 'monitoring', type: 'LoadBalancer', ports: [{ port: 9090, protocol: 'TCP' }] },
    ]);
  });

  test('Services inside a List are found too', () => {
    const list = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata: { name: a }
    spec: { ports: [{ port: 1, protocol: SCTP }] }
`;
    expect(servicesFromManifest(list, 'ns')).toEqual([{ name: 'a', namespace: 'ns', type: 'ClusterIP', ports: [{ port: 1, protocol: 'SCTP' }] }]);
  });

  test('empty, broken or service-less manifests give no services', () => {
    expect(servicesFromManifest('', 'ns')).toEqual([]);
    expect(servicesFromManifest('kind: Service\nmetadata: [unclosed', 'ns')).toEqual([]);
    expect(servicesFromManifest('---\nkind: ConfigMap\nmetadata: {name: x}\n', 'ns')).toEqual([]);
    expect(servicesFromManifest('kind: Service\nspec: {}\n', 'ns')).toEqual([]);
  });

  test('a broken document does not hide the Services of the others', () => {
    const text = `kind: Service\nmetadata: {name: ok}\nspec: {ports: [{port: 7}]}\n---\nkind: Service\nmetadata: [\n`;
    expect(servicesFromManifest(text, 'ns')).toEqual([{ name: 'ok', namespace: 'ns', type: 'ClusterIP', ports: [{ port: 7, protocol: 'TCP' }] }]);
  });
});
