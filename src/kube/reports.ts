/**
 * Writes imagegate's report per namespace (PolicyReport or openreports Report) in place: create when
 * absent, replace (with its resourceVersion) when present, so results of workloads that went are
 * gone; reports imagegate owns (by label) in namespaces that no longer have workloads are deleted.
 * RBAC: get/list/create/update/delete on the report kind. An absent CRD (404) is one coded error.
 */
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, errorMessage } from '../errors.js';
import { withRetry, type RetryOptions } from './retry.js';
import { statusCode } from './status-code.js';
import { withTimeouts } from './with-timeout.js';

/** Which custom resource holds the reports, and how imagegate's own are named and labelled. */
export interface ReportKind {
  group: string;
  version: string;
  plural: string;
  kind: string;
  /** The report's name in each namespace. */
  name: string;
  /** The label (key=value) that marks a report as imagegate's. */
  label: [string, string];
}

/** A report body as written: any custom resource with its metadata. */
export interface ReportObject {
  metadata: { name: string; namespace: string; labels: Record<string, string> };
}

export interface ReportWriteSummary {
  created: number;
  updated: number;
  deleted: number;
  /** Reports written with part of their results: the whole was over the API server's size limit. */
  trimmed: number;
  /** Reports not created because their namespace is being deleted (or gone): nothing to report there. */
  skipped: number;
  /** Namespaces whose report could not be written (the others were): `namespace: why`. */
  failed: string[];
}

/**
 * The API server refused new content because the namespace is being deleted (403 with the cause
 * NamespaceTerminating) or is gone (404 on create): the namespace was deleted during the run.
 */
function namespaceGoing(cause: { body?: unknown } | undefined): boolean {
  const code = statusCode(cause);
  const body = typeof cause?.body === 'string' ? cause.body : JSON.stringify(cause?.body ?? '');
  return (code === 403 && body.includes('NamespaceTerminating')) || code === 404;
}

/** The annotation a trimmed report carries, saying what it lacks. */
export const TRIMMED_ANNOTATION = 'imagegate.dev/trimmed';

/** The body with only its first `keep` results, and a note saying so. */
function trimmed(body: ReportObject, keep: number): ReportObject {
  const results = (body as { results?: unknown[] }).results ?? [];
  const metadata = body.metadata as ReportObject['metadata'] & { annotations?: Record<string, string> };
  return {
    ...body,
    results: results.slice(0, keep),
    metadata: {
      ...metadata,
      annotations: {
        ...(metadata.annotations ?? {}),
        [TRIMMED_ANNOTATION]:
          `${keep} of ${results.length} results: the whole report is over the API server's size limit; ` +
          '`imagegate audit --output json` lists them all',
      },
    },
  } as ReportObject;
}

export interface ReportWriter {
  /** Makes the cluster's imagegate reports equal to `bodies` (one per namespace). */
  write(bodies: ReadonlyMap<string, ReportObject>): Promise<ReportWriteSummary>;
}

interface Existing {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export function createReportWriter(
  kubeConfig: KubeConfig,
  reportKind: ReportKind,
  retry: RetryOptions = {},
): ReportWriter {
  const api = withTimeouts(kubeConfig.makeApiClient(CustomObjectsApi));
  const { group, version, plural, kind, name: REPORT_NAME } = reportKind;
  const [labelKey, labelValue] = reportKind.label;
  const call = <T>(what: string, fn: () => Promise<T>): Promise<T> =>
    withRetry(fn, retry).catch((err: unknown) => {
      const code = statusCode(err);
      if (code === 404)
        throw new KubeApiError(
          'API_REJECTED',
          `${what}: the ${kind} kind (${plural}.${group}/${version}) is not served; install its CRD (chart value reports.installCRDs)`,
          { cause: err },
        );
      throw new KubeApiError(
        code === 401 || code === 403 ? 'API_FORBIDDEN' : 'API_UNAVAILABLE',
        `${what}: ${code !== undefined ? `HTTP ${code}: ` : ''}${errorMessage(err).slice(0, 300)}`,
        { cause: err },
      );
    });

  return {
    async write(bodies) {
      const summary: ReportWriteSummary = {
        created: 0,
        updated: 0,
        deleted: 0,
        trimmed: 0,
        skipped: 0,
        failed: [],
      };
      const owned = (await call(`list ${plural}`, () =>
        api.listClusterCustomObject({
          group,
          version,
          plural,
          labelSelector: `${labelKey}=${labelValue}`,
        }),
      )) as { items?: Existing[] };
      const existing = new Map<string, Existing>();
      for (const item of owned.items ?? [])
        if (item.metadata?.name === REPORT_NAME && item.metadata.namespace !== undefined)
          existing.set(item.metadata.namespace, item);

      const writeOne = async (namespace: string, body: ReportObject): Promise<void> => {
        const current = existing.get(namespace);
        if (current === undefined) {
          try {
            await call(`create ${kind} ${namespace}/${REPORT_NAME}`, () =>
              api.createNamespacedCustomObject({ group, version, plural, namespace, body }),
            );
            summary.created += 1;
            return;
          } catch (err) {
            const cause = (err as { cause?: { body?: unknown } }).cause;
            if (namespaceGoing(cause)) {
              summary.skipped += 1;
              return;
            }
            // Someone else's report of that name without our label, or a race: replace it below.
            if (statusCode(cause) !== 409) throw err;
          }
        }
        await call(`replace ${kind} ${namespace}/${REPORT_NAME}`, async () => {
          const latest = (await api.getNamespacedCustomObject({
            group,
            version,
            plural,
            namespace,
            name: REPORT_NAME,
          })) as Existing;
          const rv = latest.metadata?.resourceVersion;
          return api.replaceNamespacedCustomObject({
            group,
            version,
            plural,
            namespace,
            name: REPORT_NAME,
            body: {
              ...body,
              metadata: { ...body.metadata, ...(rv !== undefined ? { resourceVersion: rv } : {}) },
            },
          });
        });
        summary.updated += 1;
      };
      // One namespace's failure never stops the others'. A report over the API server's size limit
      // (413) is written again with half its results, then a quarter…, and says so.
      for (const [namespace, body] of bodies) {
        const results = (body as { results?: unknown[] }).results?.length ?? 0;
        let attempt = body;
        for (let keep = results; ;) {
          try {
            await writeOne(namespace, attempt);
            if (attempt !== body) summary.trimmed += 1;
            break;
          } catch (err) {
            const code = statusCode((err as { cause?: unknown }).cause);
            if (code === 413 && keep > 0) {
              keep = Math.floor(keep / 2);
              attempt = trimmed(body, keep);
              continue;
            }
            summary.failed.push(`${namespace}: ${errorMessage(err)}`);
            break;
          }
        }
      }
      for (const namespace of existing.keys()) {
        if (bodies.has(namespace)) continue;
        await call(`delete ${kind} ${namespace}/${REPORT_NAME}`, () =>
          api.deleteNamespacedCustomObject({ group, version, plural, namespace, name: REPORT_NAME }),
        ).then(
          () => void (summary.deleted += 1),
          (err: unknown) => {
            if (statusCode((err as { cause?: unknown }).cause) === 404) summary.deleted += 1;
            else summary.failed.push(`${namespace}: ${errorMessage(err)}`);
          },
        );
      }
      return summary;
    },
  };
}
