// helm's JSON output (a release from install/upgrade/status, rows from list/history) turned into the
// stable shapes the functions answer with.
import { servicesFromManifest, type ReleaseService } from './manifest.js';

/** The part of helm's release JSON this project reads. */
export interface HelmRelease {
  name: string;
  namespace: string;
  version: number;
  info?: {
    status?: string;
    description?: string;
    notes?: string;
    first_deployed?: string;
    last_deployed?: string;
  };
  chart?: { metadata?: { name?: string; version?: string; appVersion?: string } };
  /** User-supplied values. */
  config?: Record<string, unknown> | null;
  manifest?: string;
}

interface ReleaseName {
  releaseName: string;
  namespace: string;
}

/** One revision of a release: its state and the chart it was made from. */
interface Revision {
  revision: number;
  status: string;
  chart: string;
  chartVersion: string;
  appVersion: string;
}

export interface ReleaseInfo extends ReleaseName, Revision {
  notes: string;
  services: ReleaseService[];
}

export interface ReleaseStatus extends ReleaseInfo {
  description: string;
  firstDeployed: string;
  lastDeployed: string;
}

export function releaseInfo(rel: HelmRelease): ReleaseInfo {
  const meta = rel.chart?.metadata ?? {};
  return {
    releaseName: rel.name,
    namespace: rel.namespace,
    revision: rel.version,
    status: rel.info?.status ?? 'unknown',
    chart: meta.name ?? '',
    chartVersion: meta.version ?? '',
    appVersion: meta.appVersion ?? '',
    notes: rel.info?.notes ?? '',
    services: servicesFromManifest(rel.manifest ?? '', rel.namespace),
  };
}

export function releaseStatus(rel: HelmRelease): ReleaseStatus {
  const { services, ...info } = releaseInfo(rel);
  return {
    ...info,
    description: rel.info?.description ?? '',
    firstDeployed: rel.info?.first_deployed ?? '',
    lastDeployed: rel.info?.last_deployed ?? '',
    services,
  };
}

export const isPending = (status: string | undefined): boolean => Boolean(status?.startsWith('pending-'));

/**
 * list/history print the chart as "<name>-<version>"; names may contain "-", so the version is the
 * last "-" followed by something shaped like a semantic version.
 */
export function splitChart(nameVersion: string): { chart: string; chartVersion: string } {
  const m = /^(.+)-(v?\d+(\.\d+){0,2}([-+][0-9A-Za-z.+-]*)?)$/.exec(nameVersion);
  return m ? { chart: m[1], chartVersion: m[2] } : { chart: nameVersion, chartVersion: '' };
}

/** What list and history rows both carry. */
interface HelmRevisionRow {
  revision: string | number;
  updated?: string;
  status: string;
  chart: string;
  app_version?: string;
}

interface RevisionRow extends Revision {
  updated: string;
}

function revisionRow(row: HelmRevisionRow): RevisionRow {
  return {
    revision: Number(row.revision),
    status: row.status,
    ...splitChart(row.chart),
    appVersion: row.app_version ?? '',
    updated: row.updated ?? '',
  };
}

export interface HelmListRow extends HelmRevisionRow {
  name: string;
  namespace: string;
}

export interface ReleaseSummary extends ReleaseName, RevisionRow {}

export function releaseSummary(row: HelmListRow): ReleaseSummary {
  return { releaseName: row.name, namespace: row.namespace, ...revisionRow(row) };
}

export interface HelmHistoryRow extends HelmRevisionRow {
  revision: number;
  description?: string;
}

export interface RevisionSummary extends RevisionRow {
  description: string;
}

export function revisionSummary(row: HelmHistoryRow): RevisionSummary {
  return { ...revisionRow(row), description: row.description ?? '' };
}
