// Allow-list checks applied before anything reaches helm or the Kubernetes API. A denial is
// FORBIDDEN_BY_POLICY with `details.rule` naming the rule that refused the request.
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { PortRange, RuntimeConfig } from './config.js';
import { FunctionError } from './errors.js';

export type Policy = RuntimeConfig['policy'];

function deny(rule: string, message: string, details: Record<string, unknown> = {}): never {
  throw new FunctionError('FORBIDDEN_BY_POLICY', message, { rule, ...details });
}

const ALLOWED_SCHEMES = ['http:', 'https:', 'oci:'];

// Never reachable as a chart repository, whatever the policy: instance metadata endpoints hand out
// cloud credentials to anything that can make the function fetch a URL.
const METADATA_NAMES = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data']);
const metadata = new BlockList();
metadata.addAddress('169.254.169.254', 'ipv4');
metadata.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud
metadata.addAddress('fd00:ec2::254', 'ipv6'); // AWS IPv6

const linkLocal = new BlockList();
linkLocal.addSubnet('169.254.0.0', 16, 'ipv4');
linkLocal.addSubnet('fe80::', 10, 'ipv6');

// 0.0.0.0 and :: reach the local host on Linux, so they count as loopback.
const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addSubnet('0.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');
loopback.addAddress('::', 'ipv6');

const privateRanges = new BlockList();
privateRanges.addSubnet('10.0.0.0', 8, 'ipv4');
privateRanges.addSubnet('172.16.0.0', 12, 'ipv4');
privateRanges.addSubnet('192.168.0.0', 16, 'ipv4');
privateRanges.addSubnet('100.64.0.0', 10, 'ipv4'); // carrier-grade NAT, also used by some clusters
privateRanges.addSubnet('fc00::', 7, 'ipv6');

export type HostClass = 'metadata' | 'link-local' | 'loopback' | 'private' | 'public';

/** Classifies a URL hostname (brackets allowed around IPv6). Names are not resolved. */
export function classifyHost(hostname: string): HostClass {
  const host = hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  if (METADATA_NAMES.has(host)) return 'metadata';
  if (host === 'localhost' || host.endsWith('.localhost')) return 'loopback';
  const type = isIPv4(host) ? 'ipv4' : isIPv6(host) ? 'ipv6' : undefined;
  if (!type) return 'public';
  if (metadata.check(host, type)) return 'metadata';
  if (linkLocal.check(host, type)) return 'link-local';
  if (loopback.check(host, type)) return 'loopback';
  if (privateRanges.check(host, type)) return 'private';
  return 'public';
}

// A prefix without a trailing "/" must end at a path boundary, so "https://charts.example.com"
// does not allow "https://charts.example.com.evil.test/".
function matchesPrefix(value: string, prefix: string): boolean {
  if (!value.startsWith(prefix)) return false;
  if (prefix.endsWith('/') || value.length === prefix.length) return true;
  return ['/', '?', '#'].includes(value[prefix.length]);
}

function normalizePrefix(prefix: string): string {
  try {
    return new URL(prefix).href;
  } catch {
    return prefix;
  }
}

/**
 * Checks a chart repository URL (or an oci:// chart reference) and returns it normalised. Pass the
 * returned string on to helm, not the input, so both agree on what the URL means.
 */
export function checkRepoUrl(input: string, policy: Policy): string {
  // Backslashes, whitespace and control characters are read differently by different URL parsers.
  if (typeof input !== 'string' || !/^[\x21-\x7e]+$/.test(input) || input.includes('\\')) {
    deny('repo-url', 'Repository URL is not a plain URL');
  }
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    deny('repo-url', 'Repository URL cannot be parsed');
  }
  if (!ALLOWED_SCHEMES.includes(url.protocol)) {
    deny('repo-scheme', `Repository URL scheme ${url.protocol} is not allowed`, { allowed: ALLOWED_SCHEMES });
  }
  if (url.username || url.password) {
    deny('repo-userinfo', 'Repository URL must not carry credentials');
  }
  if (!url.hostname) deny('repo-url', 'Repository URL has no host');

  // oci: is not a "special" scheme, so its host is left as written (case, numeric forms such as
  // 2130706433); parse it again as http to see the address a resolver would use.
  let hostname: string;
  try {
    hostname = new URL(`http://${url.host}`).hostname;
  } catch {
    deny('repo-url', 'Repository URL host cannot be parsed');
  }
  const hostClass = classifyHost(hostname);
  if (hostClass === 'metadata' || hostClass === 'link-local') {
    deny('repo-host', `Repository host ${hostname} is not allowed`, { hostClass });
  }
  if ((hostClass === 'loopback' || hostClass === 'private') && !policy.allowPrivateRepoHosts) {
    deny('repo-host', `Repository host ${hostname} is not allowed`, { hostClass });
  }

  const href = url.href;
  if (policy.repoPrefixes.length > 0 && !policy.repoPrefixes.some((p) => matchesPrefix(href, normalizePrefix(p)))) {
    deny('repo-prefix', 'Repository URL is not in the allowed list', { allowed: policy.repoPrefixes });
  }
  return href;
}

function globToRegExp(glob: string): RegExp {
  const source = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`);
}

/**
 * One allow-list entry: a glob when it has `*` (any run of characters, "/" included) or `?`; a
 * prefix when it ends with "/" (e.g. "bitnami/"); otherwise the exact value.
 */
export function matchesEntry(value: string, entry: string): boolean {
  if (/[*?]/.test(entry)) return globToRegExp(entry).test(value);
  if (entry.endsWith('/')) return value.startsWith(entry);
  return value === entry;
}

function allowedBy(list: string[], value: string): boolean {
  return list.length === 0 || list.some((entry) => matchesEntry(value, entry));
}

export function checkChartName(name: string, policy: Policy): void {
  if (!allowedBy(policy.chartNames, name)) {
    deny('chart-name', `Chart ${name} is not in the allowed list`, { allowed: policy.chartNames });
  }
}

/** Whether the namespace allow-list admits `namespace` (an empty list admits every namespace). */
export function isNamespaceAllowed(namespace: string, policy: Policy): boolean {
  return allowedBy(policy.namespaces, namespace);
}

export function checkNamespace(namespace: string, policy: Policy): void {
  if (!isNamespaceAllowed(namespace, policy)) {
    deny('namespace', `Namespace ${namespace} is not in the allowed list`, { allowed: policy.namespaces });
  }
}

/** Ports ingress-nginx uses itself or silently skips in the tcp/udp services ConfigMaps. */
export const RESERVED_PORTS: readonly number[] = [80, 442, 443, 8181, 10245, 10246, 10247, 10254];

export function checkPort(port: number, range: PortRange): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new FunctionError('INVALID_INPUT', 'The request body is invalid', [
      { path: '/port', message: 'must be an integer between 1 and 65535' },
    ]);
  }
  if (RESERVED_PORTS.includes(port)) {
    deny('port-reserved', `Port ${port} is reserved by the ingress controller`, { reserved: RESERVED_PORTS });
  }
  if (port < range.from || port > range.to) {
    deny('port-range', `Port ${port} is outside the allowed range ${range.from}-${range.to}`, { range });
  }
}
