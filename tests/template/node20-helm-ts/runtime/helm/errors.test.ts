import { describe, expect, test } from 'vitest';
import { ERRORS } from '#runtime/errors.js';
import { classifyHelmError, helmErrorText, mapHelmError } from '#runtime/helm/errors.js';

// stderr of helm v4.1.4 as observed against the emulated cluster and test chart repositories.
const observed: [string, string, string?][] = [
  [
    'level=ERROR msg="release name check failed" error="cannot reuse a name that is still in use"\nError: INSTALLATION FAILED: release name check failed: cannot reuse a name that is still in use',
    'RELEASE_EXISTS',
  ],
  ['Error: INSTALLATION FAILED: release: already exists', 'RELEASE_EXISTS'],
  ['Error: release: not found', 'RELEASE_NOT_FOUND'],
  ['Error: uninstall: Release not loaded: nope: release: not found', 'RELEASE_NOT_FOUND'],
  ['Error: UPGRADE FAILED: "nope" has no deployed releases', 'RELEASE_NOT_FOUND'],
  ['Error: release has no 9 version', 'RELEASE_NOT_FOUND'],
  ['Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress', 'OPERATION_IN_PROGRESS'],
  ['Error: INSTALLATION FAILED: create: failed to create: namespaces "nsx" not found', 'NAMESPACE_NOT_FOUND'],
  [
    "Error: INSTALLATION FAILED: values don't meet the specifications of the schema(s) in the following chart(s):\napp:\n- at '/service/port': got string, want integer\n",
    'INVALID_VALUES',
  ],
  ['Error: INSTALLATION FAILED: execution error at (app/templates/service.yaml:1:25): failing on purpose', 'INVALID_VALUES'],
  [
    'Error: failed to parse bad.yaml: cannot unmarshal yaml document: error converting YAML to JSON: yaml: line 1: did not find expected node content',
    'INVALID_VALUES',
  ],
  [
    "Error: INSTALLATION FAILED: chart \"app\" matching 9.9.9 not found in t index. (try 'helm repo update'): no chart version found for app-9.9.9",
    'CHART_NOT_FOUND',
  ],
  ["Error: INSTALLATION FAILED: chart \"nope\" matching  not found in t index. (try 'helm repo update'): no chart name found", 'CHART_NOT_FOUND'],
  ['Error: repo norepo not found', 'CHART_NOT_FOUND'],
  [
    'Error: looks like "http://127.0.0.1:1/" is not a valid chart repository or cannot be reached: Get "http://127.0.0.1:1/index.yaml": dial tcp 127.0.0.1:1: connect: connection refused',
    'REPO_UNREACHABLE',
  ],
  [
    'Error: looks like "http://nonexistent.invalid/" is not a valid chart repository or cannot be reached: Get "http://nonexistent.invalid/index.yaml": dial tcp: lookup nonexistent.invalid on 10.255.255.53:53: no such host',
    'REPO_UNREACHABLE',
  ],
  [
    'Error: looks like "http://127.0.0.1:8765/index.yaml" is not a valid chart repository or cannot be reached: failed to fetch http://127.0.0.1:8765/index.yaml/index.yaml : 404 File not found',
    'REPO_UNREACHABLE',
  ],
  [
    'Hang tight while we grab the latest from your chart repositories...\n...Unable to get an update from the "myrepo" chart repository (http://127.0.0.1:8765/):\n\tGet "http://127.0.0.1:8765/index.yaml": dial tcp 127.0.0.1:8765: connect: connection refused\nError: failed to update the following repositories: [http://127.0.0.1:8765/]',
    'REPO_UNREACHABLE',
  ],
  ['Error: Get "https://127.0.0.1:1/v2/charts/app/tags/list": dial tcp 127.0.0.1:1: connect: connection refused', 'REPO_UNREACHABLE', 'oci://127.0.0.1:1/charts/app'],
  ['Error: INSTALLATION FAILED: context deadline exceeded', 'TIMEOUT'],
  ['Error: query: failed to query with labels: Internal error occurred: injected fault', 'KUBE_API_ERROR'],
  [
    'Error: kubernetes cluster unreachable: Get "http://localhost:8080/version": dial tcp 127.0.0.1:8080: connect: connection refused',
    'KUBE_API_ERROR',
  ],
  [
    'level=ERROR msg="cluster reachability check failed: kubernetes cluster unreachable: Get \\"http://localhost:8080/version\\": dial tcp 127.0.0.1:8080: connect: connection refused"\nError: INSTALLATION FAILED: cluster reachability check failed: kubernetes cluster unreachable: Get "http://localhost:8080/version": dial tcp 127.0.0.1:8080: connect: connection refused',
    'KUBE_API_ERROR',
  ],
  ['Error: something nobody has seen before', 'HELM_FAILED'],
];

describe('helm error mapping', () => {
  test.each(observed)('%s -> %s', (stderr, code, chartRef) => {
    const err = mapHelmError({ stderr, exitCode: 1, chartRef });
    expect(err.code).toBe(code);
    expect(err.status).toBe(ERRORS[code as keyof typeof ERRORS].status);
  });

  test('the returned text is helm\'s error, without log lines or the "Error: " prefix', () => {
    expect(
      helmErrorText(
        'level=WARN msg="x"\nlevel=ERROR msg="release name check failed"\nError: INSTALLATION FAILED: release name check failed: cannot reuse a name that is still in use\n',
      ),
    ).toBe('INSTALLATION FAILED: release name check failed: cannot reuse a name that is still in use');
  });

  test('without an Error: line the last non-log lines are kept', () => {
    expect(helmErrorText('level=INFO msg="x"\npanic: boom\ngoroutine 1\n')).toBe('panic: boom\ngoroutine 1');
  });

  test('secrets and URL credentials are blanked, long text is cut', () => {
    expect(helmErrorText('Error: failed https://user:tok@host/x with pw-1', ['pw-1'])).toBe('failed https://***@host/x with ***');
    expect(helmErrorText(`Error: ${'x'.repeat(5000)}`)).toHaveLength(1003);
  });

  test('a log line mentioning a pattern does not decide the code, the Error: line does', () => {
    expect(
      mapHelmError({ stderr: 'level=WARN msg="context deadline exceeded while retrying"\nError: INSTALLATION FAILED: release: already exists', exitCode: 1 }).code,
    ).toBe('RELEASE_EXISTS');
  });

  test('oci "not found" is CHART_NOT_FOUND only for oci references', () => {
    const text = 'failed to perform "FetchReference" on source: oci.example.com/charts/app:1.0.0: not found';
    expect(classifyHelmError(text, { chartRef: 'oci://oci.example.com/charts/app:1.0.0' })).toBe('CHART_NOT_FOUND');
    expect(classifyHelmError(text, {})).toBe('HELM_FAILED');
  });

  test('details carry the helm text and exit code', () => {
    expect(mapHelmError({ stderr: 'Error: release: not found\n', exitCode: 1 }).toJSON()).toEqual({
      error: { code: 'RELEASE_NOT_FOUND', message: 'Release not found', details: { helm: 'release: not found', exitCode: 1 } },
    });
  });
});
