import { describe, expect, test } from 'vitest';
import { loadConfig } from '#runtime/config.js';

describe('loadConfig', () => {
  test('the exposure backend defaults to ingress-nginx; gateway-api and the route namespace are read from the environment', () => {
    expect(loadConfig({})).toMatchObject({ exposureBackend: 'ingress-nginx', gatewayRouteNamespace: 'service' });
    expect(loadConfig({ EXPOSURE_BACKEND: 'gateway-api', GATEWAY_ROUTE_NAMESPACE: 'gateway' })).toMatchObject({
      exposureBackend: 'gateway-api',
      gatewayRouteNamespace: 'gateway',
    });
  });

  test('an unknown backend stops the function from starting instead of silently picking one', () => {
    expect(() => loadConfig({ EXPOSURE_BACKEND: 'gateway' })).toThrow('EXPOSURE_BACKEND must be one of ingress-nginx, gateway-api (got "gateway")');
    expect(() => loadConfig({ GATEWAY_ROUTE_NAMESPACE: 'tenant' })).toThrow(/GATEWAY_ROUTE_NAMESPACE/);
  });
});
