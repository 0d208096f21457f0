// Turns a failed helm run (exit code != 0) into a FunctionError with a stable code. helm has no
// machine-readable errors, so this reads its final "Error: ..." text; the table is ordered, first
// match wins, and every pattern comes from helm 4 output observed in the tests.
import { FunctionError, type ErrorCode } from '../errors.js';

export interface HelmFailure {
  stderr: string;
  exitCode?: number;
  /** The chart reference of the run, when there is one (oci:// references map "not found" to CHART_NOT_FOUND). */
  chartRef?: string;
  /** Strings to blank out of anything returned (passwords, tokens). */
  secrets?: readonly string[];
}

interface Rule {
  code: ErrorCode;
  test: (text: string, failure: HelmFailure) => boolean;
}

const has = (re: RegExp) => (text: string) => re.test(text);

// A connection error names the URL it failed on: Kubernetes API paths are the cluster's fault,
// anything else (index.yaml, .tgz, /v2/ of a registry) is the chart repository's.
const NETWORK = /no such host|connection refused|i\/o timeout|network is unreachable|no route to host|connection reset|tls: |x509: |EOF$/m;
const KUBE_PATH = /"https?:\/\/[^"]*\/(api|apis|version|openapi)(\/|\?|")/;

const RULES: Rule[] = [
  { code: 'OPERATION_IN_PROGRESS', test: has(/another operation \(install\/upgrade\/rollback\) is in progress/) },
  { code: 'RELEASE_EXISTS', test: has(/cannot re-?use a name that is still in use|release: already exists/) },
  {
    code: 'RELEASE_EXISTS',
    test: has(/secrets "sh\.helm\.release\.v1\.[^"]+" already exists/),
  },
  { code: 'RELEASE_NOT_FOUND', test: has(/release: not found|has no deployed releases|release has no \d+ version/) },
  { code: 'KUBE_API_ERROR', test: has(/kubernetes cluster unreachable/i) },
  { code: 'KUBE_API_ERROR', test: (t) => NETWORK.test(t) && KUBE_PATH.test(t) },
  { code: 'REPO_UNREACHABLE', test: has(/is not a valid chart repository or cannot be reached|failed to update the following repositories/) },
  { code: 'CHART_NOT_FOUND', test: has(/no chart name found|no chart version found|not found in \S+ index|repo \S+ not found/) },
  { code: 'CHART_NOT_FOUND', test: has(/failed to fetch \S+ : 404\b/) },
  { code: 'REPO_UNREACHABLE', test: (t) => NETWORK.test(t) },
  { code: 'REPO_UNREACHABLE', test: has(/failed to fetch \S+ : [45]\d\d\b/) },
  {
    code: 'CHART_NOT_FOUND',
    test: (t, f) => Boolean(f.chartRef?.startsWith('oci://')) && /not found|manifest unknown|name unknown|: 404\b/i.test(t),
  },
  { code: 'NAMESPACE_NOT_FOUND', test: has(/namespaces "[^"]+" not found/) },
  { code: 'TIMEOUT', test: has(/context deadline exceeded|timed out waiting|timeout waiting/) },
  {
    code: 'INVALID_VALUES',
    test: has(
      /values don't meet the specifications of the schema|YAML parse error|parse error at|execution error at|error calling |template: |unable to build kubernetes objects from release manifest|error converting YAML to JSON|failed to parse .*values|cannot unmarshal/,
    ),
  },
  {
    code: 'KUBE_API_ERROR',
    test: has(
      /is forbidden:|Unauthorized|the server could not find the requested resource|the server has asked for the client to provide credentials|Internal error occurred|the server is currently unable to handle the request|Too Many Requests|the server was unable to return a response|failed to query with labels/,
    ),
  },
];

/** The part of stderr worth returning: helm's "Error: ..." lines, without log noise, secrets or URL credentials. */
export function helmErrorText(stderr: string, secrets: readonly string[] = []): string {
  const lines = stderr.split(/\r?\n/).filter((l) => l.trim() !== '');
  const errorAt = lines.findIndex((l) => l.startsWith('Error:'));
  const picked = errorAt >= 0 ? lines.slice(errorAt) : lines.filter((l) => !l.startsWith('level=')).slice(-5);
  let text = (picked.length > 0 ? picked : lines.slice(-5)).join('\n').replace(/^Error: /, '');
  for (const secret of secrets) if (secret) text = text.split(secret).join('***');
  text = text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s@"]*@/gi, '$1***@');
  return text.length > 1000 ? `${text.slice(0, 1000)}...` : text;
}

export function classifyHelmError(text: string, failure: Omit<HelmFailure, 'stderr'> = {}): ErrorCode {
  const withText = { ...failure, stderr: text };
  const rule = RULES.find((r) => r.test(text, withText));
  return rule?.code ?? 'HELM_FAILED';
}

export function mapHelmError(failure: HelmFailure): FunctionError {
  const text = helmErrorText(failure.stderr, failure.secrets);
  const code = classifyHelmError(text, failure);
  const details: { helm: string; exitCode?: number } = { helm: text };
  if (failure.exitCode !== undefined) details.exitCode = failure.exitCode;
  return new FunctionError(code, undefined, details);
}
