/**
 * Where a base claim comes from: OCI `org.opencontainers.image.base.*` annotations, and SLSA
 * provenance (v0.2 `materials`, v1 `resolvedDependencies`). Pure parsing: nothing here is believed
 * until proof.ts has checked the claim against the policy and the registry.
 */
import { parseReference, type ImageReference } from '../../registry/reference.js';
import type { InTotoStatement } from '../signature/verify.js';
import { isDigest } from '../../shared/digest.js';
import { isRecord } from '../../shared/guards.js';

export const BASE_NAME_ANNOTATION = 'org.opencontainers.image.base.name';
export const BASE_DIGEST_ANNOTATION = 'org.opencontainers.image.base.digest';
export const SLSA_PROVENANCE_V02 = 'https://slsa.dev/provenance/v0.2';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';

export interface BaseClaim {
  /** Where the claim was found, for messages: `annotation on the index`, `SLSA provenance v1 …`. */
  source: string;
  /** The base as named (registry/repository, tag when named); its digest is `digest`. */
  reference: ImageReference;
  /** As written in the claim. */
  name: string;
  /** The claimed digest, when the claim has one. */
  digest?: string;
  /** True for the policy's candidates (source 3): they always need the layer proof. */
  candidate?: boolean;
}

export type AnnotationClaim =
  | { kind: 'claim'; claim: BaseClaim }
  | { kind: 'inconsistent'; message: string }
  | { kind: 'none'; note?: string };

/** Reads the base annotations of one manifest (platform manifest or index). */
export function annotationClaim(
  annotations: Record<string, string> | undefined,
  where: string,
): AnnotationClaim {
  const name = annotations?.[BASE_NAME_ANNOTATION];
  const digest = annotations?.[BASE_DIGEST_ANNOTATION];
  if (name === undefined || name.trim() === '') {
    return digest === undefined
      ? { kind: 'none' }
      : { kind: 'none', note: `${BASE_DIGEST_ANNOTATION} on the ${where} without a base name is ignored` };
  }
  let reference: ImageReference;
  try {
    reference = parseReference(name);
  } catch {
    return {
      kind: 'inconsistent',
      message: `${BASE_NAME_ANNOTATION} "${name}" on the ${where} is not an image reference`,
    };
  }
  if (digest !== undefined && !isDigest(digest)) {
    return {
      kind: 'inconsistent',
      message: `${BASE_DIGEST_ANNOTATION} "${digest}" on the ${where} is not a digest`,
    };
  }
  if (digest !== undefined && reference.digest !== undefined && reference.digest !== digest) {
    return {
      kind: 'inconsistent',
      message: `the ${where} claims base ${name} but ${BASE_DIGEST_ANNOTATION} ${digest}: two different digests`,
    };
  }
  const effective = digest ?? reference.digest;
  return {
    kind: 'claim',
    claim: {
      source: `annotation on the ${where}`,
      reference,
      name,
      ...(effective !== undefined ? { digest: effective } : {}),
    },
  };
}

export function isProvenance(predicateType: string | undefined): boolean {
  return predicateType === SLSA_PROVENANCE_V02 || predicateType === SLSA_PROVENANCE_V1;
}

interface Material {
  uri: string;
  digest?: Record<string, unknown>;
}

/** v0.2 `predicate.materials`, v1 `predicate.buildDefinition.resolvedDependencies`. */
export function provenanceMaterials(statement: InTotoStatement): Material[] {
  const predicate = statement.predicate;
  if (!isRecord(predicate)) return [];
  let list: unknown;
  if (statement.predicateType === SLSA_PROVENANCE_V02) list = predicate.materials;
  else if (statement.predicateType === SLSA_PROVENANCE_V1) {
    const def = predicate.buildDefinition;
    list = isRecord(def) ? def.resolvedDependencies : undefined;
  }
  if (!Array.isArray(list)) return [];
  return list.flatMap((m: unknown) =>
    isRecord(m) && typeof m.uri === 'string'
      ? [{ uri: m.uri, ...(isRecord(m.digest) ? { digest: m.digest } : {}) }]
      : [],
  );
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * An image named by a provenance material, or undefined when the material is not an image with a
 * digest (git sources, files, images without digest). Accepts `pkg:docker/NAME@VERSION?…` purls
 * (with `repository_url`), `docker-image://REF` and plain `REF@sha256:…`.
 */
export function materialImage(
  m: Material,
): { name: string; reference: ImageReference; digest: string } | undefined {
  let name: string;
  let version: string | undefined;
  if (m.uri.startsWith('pkg:docker/')) {
    const [pathAndVersion = '', query = ''] = m.uri.slice('pkg:docker/'.length).split('?', 2);
    const at = pathAndVersion.lastIndexOf('@');
    const path = decode(at >= 0 ? pathAndVersion.slice(0, at) : pathAndVersion);
    version = at >= 0 ? decode(pathAndVersion.slice(at + 1)) : undefined;
    const repositoryUrl = new URLSearchParams(query).get('repository_url');
    name =
      repositoryUrl !== null && !path.startsWith(`${repositoryUrl}/`) ? `${repositoryUrl}/${path}` : path;
    if (version !== undefined) name += isDigest(version) ? `@${version}` : `:${version}`;
  } else if (m.uri.startsWith('docker-image://')) {
    name = m.uri.slice('docker-image://'.length);
  } else if (!m.uri.includes('://') && !m.uri.startsWith('pkg:')) {
    name = m.uri;
  } else {
    return undefined;
  }
  let reference: ImageReference;
  try {
    reference = parseReference(name);
  } catch {
    return undefined;
  }
  const fromField = (['sha256', 'sha512', 'sha384'] as const)
    .map((alg) => (typeof m.digest?.[alg] === 'string' ? `${alg}:${m.digest[alg] as string}` : undefined))
    .find((d) => d !== undefined && isDigest(d));
  // A digest in the name that disagrees with the digest field: the material is not usable.
  if (reference.digest !== undefined && fromField !== undefined && reference.digest !== fromField)
    return undefined;
  const digest = fromField ?? reference.digest;
  if (digest === undefined) return undefined;
  return { name, reference, digest };
}
