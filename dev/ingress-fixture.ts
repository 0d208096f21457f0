// The objects of an ingress-nginx controller as the ingress functions expect it, for an emulated
// cluster (pass them as startCluster's `seed`): its namespace, the LoadBalancer Service labelled
// appingress=<IngressLabel> with the usual http/https ports (the emulator gives it an external IP),
// and the empty tcp/udp services ConfigMaps its --tcp-services-configmap/--udp-services-configmap
// flags name.

export interface IngressFixtureOptions {
  /** LoadBalancerNamespace; default ingress-nginx. */
  namespace?: string;
  /** IngressLabel (value of the appingress label); default ingress-nginx. */
  label?: string;
  serviceName?: string;
  tcpConfigMap?: string;
  udpConfigMap?: string;
}

export const INGRESS_DEFAULTS = {
  namespace: 'ingress-nginx',
  label: 'ingress-nginx',
  serviceName: 'ingress-nginx-controller',
  tcpConfigMap: 'tcp-services',
  udpConfigMap: 'udp-services',
} as const;

export function ingressControllerObjects(options: IngressFixtureOptions = {}): object[] {
  const o = { ...INGRESS_DEFAULTS, ...options };
  const labels = { 'app.kubernetes.io/name': 'ingress-nginx', 'app.kubernetes.io/component': 'controller' };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: o.namespace } },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: o.serviceName, namespace: o.namespace, labels: { ...labels, appingress: o.label } },
      spec: {
        type: 'LoadBalancer',
        selector: labels,
        ports: [
          { name: 'http', port: 80, targetPort: 80, protocol: 'TCP' },
          { name: 'https', port: 443, targetPort: 443, protocol: 'TCP' },
        ],
      },
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: o.tcpConfigMap, namespace: o.namespace, labels }, data: {} },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: o.udpConfigMap, namespace: o.namespace, labels }, data: {} },
  ];
}
