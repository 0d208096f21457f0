// helm-specific settings read from the environment at call time:
//   STABLE_REPO_URL               where `stable/<chart>` resolves (default https://charts.helm.sh/stable)
//   HELM_REPOSITORIES             more named repositories, "name=url,name=url" (`name/<chart>`)
//   HELM_REPO_INDEX_TTL_SECONDS   how long a fetched repository index is reused (default 300)
export interface HelmSettings {
  repositories: Map<string, string>;
  indexTtlMs: number;
}

export const DEFAULT_STABLE_REPO_URL = 'https://charts.helm.sh/stable';

export function helmSettings(env: NodeJS.ProcessEnv = process.env): HelmSettings {
  const repositories = new Map<string, string>();
  for (const entry of (env.HELM_REPOSITORIES ?? '').split(',')) {
    const at = entry.indexOf('=');
    if (at <= 0) continue;
    repositories.set(entry.slice(0, at).trim(), entry.slice(at + 1).trim());
  }
  if (!repositories.has('stable')) repositories.set('stable', env.STABLE_REPO_URL || DEFAULT_STABLE_REPO_URL);
  const ttl = Number.parseInt(env.HELM_REPO_INDEX_TTL_SECONDS ?? '', 10);
  return { repositories, indexTtlMs: (Number.isFinite(ttl) && ttl >= 0 ? ttl : 300) * 1000 };
}
