// Name rules checked again right before helm runs, whatever the request schema already checked:
// a value that reaches helm's argv must never be readable as a flag or a path.
import { FunctionError } from '../errors.js';
import { isValidName, NAME_RULES } from '../names.js';

/** A chart in a repository (`repo/chart`) or a bare chart name resolved against a given repository. */
export const REPO_CHART = /^([A-Za-z0-9][A-Za-z0-9._-]{0,62})\/([A-Za-z0-9][A-Za-z0-9._-]{0,127})$/;
export const BARE_CHART = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** oci://host[:port]/path[:tag][@sha256:digest] */
export const OCI_REF =
  /^oci:\/\/[A-Za-z0-9]([A-Za-z0-9.-]{0,252})(:[0-9]{1,5})?(\/[A-Za-z0-9][A-Za-z0-9._-]{0,127}){1,8}(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
/** A chart version or semver constraint as helm accepts it (`1.2.3`, `^1.2`, `>=1.0.0 <2.0.0`). */
export const VERSION = /^[A-Za-z0-9^~=<>!.*+_|, -]{1,64}$/;
/** An OpenFaaS secret file name: one path segment. */
export const SECRET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

function invalid(field: string, reason: string): never {
  throw new FunctionError('INVALID_INPUT', `Invalid ${field}`, [{ path: `/${field}`, message: reason }]);
}

// Anything that could be read as a flag, or carries whitespace/control characters, is refused first.
function common(field: string, value: unknown, max: number): string {
  if (typeof value !== 'string' || value.length === 0) invalid(field, 'must be a non-empty string');
  if (value.length > max) invalid(field, `must be at most ${max} characters`);
  if (value.startsWith('-')) invalid(field, 'must not start with "-"');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\s]/.test(value)) invalid(field, 'must not contain whitespace or control characters');
  return value;
}

function dnsLabel(kind: 'release' | 'namespace', field: string, value: unknown): string {
  const v = common(field, value, NAME_RULES[kind].maxLength);
  if (!isValidName(kind, v)) invalid(field, 'must be a DNS-1123 label (lower case letters, digits and "-")');
  return v;
}

export function assertReleaseName(value: unknown, field = 'releaseName'): string {
  return dnsLabel('release', field, value);
}

export function assertNamespace(value: unknown, field = 'namespace'): string {
  return dnsLabel('namespace', field, value);
}

/** Chart references helm receives: `repo/chart`, a bare chart name, or an oci:// reference. */
export function assertChartRef(value: unknown, field = 'chartName'): string {
  const v = common(field, value, 512);
  if (!(REPO_CHART.test(v) || BARE_CHART.test(v) || OCI_REF.test(v))) {
    invalid(field, 'must be "repo/chart", a chart name or an oci:// reference');
  }
  return v;
}

export function assertVersion(value: unknown, field = 'version'): string {
  if (typeof value !== 'string' || value.length === 0) invalid(field, 'must be a non-empty string');
  if (value.startsWith('-')) invalid(field, 'must not start with "-"');
  if (!VERSION.test(value)) invalid(field, 'must be a chart version or version constraint');
  return value;
}

export function assertRepoName(value: unknown, field = 'repository'): string {
  const v = common(field, value, 63);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(v)) invalid(field, 'must be a repository name');
  return v;
}

export function assertRepoUrl(value: unknown, field = 'privateChartsRepo'): string {
  const v = common(field, value, 2048);
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    invalid(field, 'must be a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') invalid(field, 'must be an http(s) URL');
  if (url.username || url.password) invalid(field, 'must not carry credentials (use repoCredentialsSecret)');
  return v;
}

export function assertSecretName(value: unknown, field = 'repoCredentialsSecret'): string {
  const v = common(field, value, 253);
  if (!SECRET_NAME.test(v) || v === '.' || v === '..' || v.includes('..')) invalid(field, 'must be a secret name');
  return v;
}
