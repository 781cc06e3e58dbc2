/**
 * The shared AdmissionReview fixtures as request bodies: connaisseur files as they are, kubewarden's
 * bare requests wrapped in a v1 AdmissionReview, kubernetes/api round-trip objects wrapped in a CREATE
 * request of their kind.
 */
import { readFileSync } from 'node:fs';
import { fixturePath } from './fixtures.js';

export const REVIEW_DIR = 'admission-review';

export function readFixture(relative: string): unknown {
  return JSON.parse(readFileSync(fixturePath(REVIEW_DIR, relative), 'utf8')) as unknown;
}

export function wrapRequest(request: unknown): Record<string, unknown> {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request };
}

/** A CREATE review of a bare API object, as the API server would send it. */
export function wrapObject(object: Record<string, unknown>, uid: string): Record<string, unknown> {
  const [group, version] = String(object.apiVersion).includes('/')
    ? String(object.apiVersion).split('/')
    : ['', String(object.apiVersion)];
  return wrapRequest({
    uid,
    kind: { group, version, kind: object.kind },
    operation: 'CREATE',
    namespace: 'default',
    userInfo: { username: 'fixture-user' },
    object,
  });
}

/** The body a fixture file turns into when sent to /validate. */
export function reviewBodyOf(relative: string): unknown {
  const raw = readFixture(relative);
  if (relative.startsWith('kubewarden-requests/')) return wrapRequest(raw);
  if (relative.startsWith('k8s-api-roundtrip/') && !relative.includes('AdmissionReview')) {
    return wrapObject(raw as Record<string, unknown>, `roundtrip-${relative.split('/')[1]}`);
  }
  return raw;
}

let counter = 0;

/** A CREATE review of a Pod running the given images, with a fresh uid. */
export function podReview(
  images: readonly string[],
  options: { namespace?: string; name?: string; user?: string; dryRun?: boolean; uid?: string } = {},
): { apiVersion: string; kind: string; request: Record<string, unknown> & { uid: string } } {
  counter += 1;
  const uid = options.uid ?? `test-uid-${process.pid}-${counter}`;
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: options.namespace ?? 'default',
      operation: 'CREATE',
      userInfo: { username: options.user ?? 'alice@example.com', groups: ['system:authenticated'] },
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: options.name ?? 'web', namespace: options.namespace ?? 'default' },
        spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) },
      },
      ...(options.dryRun !== undefined ? { dryRun: options.dryRun } : {}),
    },
  };
}
