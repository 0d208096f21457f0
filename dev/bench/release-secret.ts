// helm's release storage (the default Secret driver), for seeding many releases straight into the
// emulator's store: a Secret `sh.helm.release.v1.<name>.v<version>` of type helm.sh/release.v1,
// labelled owner=helm, name, status, version (and modifiedAt), whose data.release is
// base64(gzip(JSON release)); the API's own base64 of Secret data comes on top, so the stored
// string is base64(base64(gzip(JSON))). readRelease checks that on a Secret helm itself wrote.
import { gunzipSync, gzipSync } from 'node:zlib';

export const RELEASE_SECRET_TYPE = 'helm.sh/release.v1';

export interface ReleaseSecret {
  apiVersion?: string;
  kind?: string;
  type?: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

/** A release as helm stores it (only the fields this module touches are typed). */
export interface StoredRelease {
  name: string;
  namespace: string;
  version: number;
  info: { status: string };
  [key: string]: unknown;
}

export function secretName(release: string, version: number): string {
  return `sh.helm.release.v1.${release}.v${version}`;
}

/** The release a Secret written by helm holds; throws if the Secret is not in the format above. */
export function readRelease(secret: ReleaseSecret): StoredRelease {
  const labels = secret.metadata.labels ?? {};
  const problems: string[] = [];
  if (secret.type !== RELEASE_SECRET_TYPE) problems.push(`type ${secret.type}`);
  if (labels.owner !== 'helm') problems.push(`label owner=${labels.owner}`);
  const encoded = secret.data?.release;
  if (!encoded) problems.push('no data.release');
  if (problems.length > 0) throw new Error(`${secret.metadata.name} is not a helm release Secret: ${problems.join(', ')}`);
  const release = JSON.parse(gunzipSync(Buffer.from(Buffer.from(encoded!, 'base64').toString('latin1'), 'base64')).toString('utf8')) as StoredRelease;
  const expected = { name: labels.name, version: labels.version, status: labels.status, secret: secretName(release.name, release.version) };
  const actual = { name: release.name, version: String(release.version), status: release.info?.status, secret: secret.metadata.name };
  if (JSON.stringify(expected) !== JSON.stringify(actual)) {
    throw new Error(`release Secret labels and content disagree: ${JSON.stringify({ expected, actual })}`);
  }
  return release;
}

/** A Secret holding `release` as helm would write it, labels copied from `template`'s. */
export function releaseSecret(release: StoredRelease, template: ReleaseSecret): ReleaseSecret {
  const payload = gzipSync(Buffer.from(JSON.stringify(release))).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: RELEASE_SECRET_TYPE,
    metadata: {
      name: secretName(release.name, release.version),
      namespace: release.namespace,
      labels: { ...template.metadata.labels, name: release.name, status: release.info.status, version: String(release.version) },
    },
    data: { release: Buffer.from(payload).toString('base64') },
  };
}
