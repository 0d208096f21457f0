// Kubernetes and helm name rules, as predicates and as regex sources for JSON schemas ("pattern").
// Every rule starts with an alphanumeric character, so no name can be mistaken for a flag ("-...").
import { FunctionError } from './errors.js';

const LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';

/** DNS-1123 label: namespaces, most object names (at most 63 characters). */
export const DNS1123_LABEL_PATTERN = `^${LABEL}$`;
/** DNS-1123 subdomain: ConfigMap, Secret and other object names (at most 253 characters). */
export const DNS1123_SUBDOMAIN_PATTERN = `^${LABEL}(\\.${LABEL})*$`;
/** DNS-1035 label: Service names, which must start with a letter (at most 63 characters). */
export const DNS1035_LABEL_PATTERN = '^[a-z]([-a-z0-9]*[a-z0-9])?$';
/**
 * Helm release names: a DNS-1123 label of at most 53 characters. Helm itself also accepts dots, but
 * the release name ends up in resource names and labels, so the stricter label form is used.
 */
export const RELEASE_NAME_PATTERN = DNS1123_LABEL_PATTERN;

const LABEL_TEXT = "lower-case letters, digits and '-', starting and ending with a letter or digit";

export const NAME_RULES = {
  label: { pattern: DNS1123_LABEL_PATTERN, maxLength: 63, description: `a DNS-1123 label (${LABEL_TEXT})` },
  namespace: { pattern: DNS1123_LABEL_PATTERN, maxLength: 63, description: `a DNS-1123 label (${LABEL_TEXT})` },
  subdomain: {
    pattern: DNS1123_SUBDOMAIN_PATTERN,
    maxLength: 253,
    description: `a DNS-1123 subdomain (dot-separated labels of ${LABEL_TEXT})`,
  },
  service: {
    pattern: DNS1035_LABEL_PATTERN,
    maxLength: 63,
    description: "a DNS-1035 label (lower-case letters, digits and '-', starting with a letter)",
  },
  release: { pattern: RELEASE_NAME_PATTERN, maxLength: 53, description: `a DNS-1123 label (${LABEL_TEXT})` },
} as const;

export type NameKind = keyof typeof NAME_RULES;

const compiled = Object.fromEntries(
  Object.entries(NAME_RULES).map(([kind, rule]) => [kind, new RegExp(rule.pattern)]),
) as Record<NameKind, RegExp>;

export function isValidName(kind: NameKind, value: unknown): value is string {
  return typeof value === 'string' && value.length <= NAME_RULES[kind].maxLength && compiled[kind].test(value);
}

export const isDns1123Label = (value: unknown): value is string => isValidName('label', value);
export const isDns1123Subdomain = (value: unknown): value is string => isValidName('subdomain', value);
export const isDns1035Label = (value: unknown): value is string => isValidName('service', value);
export const isNamespaceName = (value: unknown): value is string => isValidName('namespace', value);
export const isReleaseName = (value: unknown): value is string => isValidName('release', value);

/** Throws INVALID_INPUT (details shaped like schema errors) unless `value` is a valid name of `kind`. */
export function assertValidName(kind: NameKind, value: unknown, path = `/${kind}`): asserts value is string {
  if (isValidName(kind, value)) return;
  const rule = NAME_RULES[kind];
  throw new FunctionError('INVALID_INPUT', 'The request body is invalid', [
    {
      path,
      message: `must be ${rule.description} of at most ${rule.maxLength} characters`,
    },
  ]);
}
