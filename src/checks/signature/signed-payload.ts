/**
 * What a verified signature says, read only after its signature has verified: the in-toto statement
 * of a DSSE envelope or the simple-signing claims of a legacy cosign payload, each of which must name
 * the digest the candidate was found under.
 */
import type { Bundle } from '@sigstore/bundle';
import { errorMessage } from '../../errors.js';
import { isRecord } from '../../shared/guards.js';
import { toSimpleSigningClaims } from './cosign-legacy.js';
import type { Candidate } from './fetch.js';
import { Rejected } from './rejection.js';
import { needsManifestBytes, subjectsName } from './subject-digests.js';

export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const COSIGN_SIMPLE_SIGNING_TYPE = 'cosign container image signature';

export interface InTotoStatement {
  _type: string;
  subject: { name?: string; digest: Record<string, string> }[];
  predicateType: string;
  predicate?: unknown;
}

/** The part of a VerifiedItem that comes from the signed payload. */
export type PayloadFacts =
  | { kind: 'signature' | 'attestation'; predicateType: string; statement: InTotoStatement }
  | { kind: 'signature'; dockerReference?: string };

/**
 * `artifact` is the signed bytes: the legacy payload, or the manifest for a message signature.
 * `manifestBytes` gives the digest-verified manifest, read only when an in-toto subject names the
 * image by another algorithm than its digest's (sha512, …).
 */
export async function readSignedPayload(
  candidate: Extract<Candidate, { ok: true }>,
  artifact: Buffer | undefined,
  manifestBytes: () => Promise<Buffer>,
): Promise<PayloadFacts> {
  const bundle = candidate.bundle;
  if (bundle.content.$case === 'dsseEnvelope') {
    const statement = statementOf(bundle);
    const digest = candidate.subjectDigest;
    const manifest = needsManifestBytes(statement.subject, digest) ? await manifestBytes() : undefined;
    if (!subjectsName(statement.subject, digest, manifest)) {
      throw new Rejected(
        'DIGEST_MISMATCH',
        `whose in-toto subject does not name ${digest} (on every digest algorithm it lists)`,
      );
    }
    const kind = statement.predicateType === COSIGN_SIGN_PREDICATE ? 'signature' : 'attestation';
    return { kind, predicateType: statement.predicateType, statement };
  }
  if (candidate.format === 'cosign-legacy') {
    let claims;
    try {
      claims = toSimpleSigningClaims(artifact!);
    } catch (err) {
      throw new Rejected('SIGNATURE_MALFORMED', `with an unreadable payload (${errorMessage(err)})`);
    }
    if (claims.type.toLowerCase() !== COSIGN_SIMPLE_SIGNING_TYPE) {
      throw new Rejected('SIGNATURE_MALFORMED', `with payload type "${claims.type}"`);
    }
    if (claims.dockerManifestDigest !== candidate.subjectDigest) {
      throw new Rejected(
        'DIGEST_MISMATCH',
        `over digest ${claims.dockerManifestDigest} (this image is ${candidate.subjectDigest})`,
      );
    }
    return {
      kind: 'signature',
      ...(claims.dockerReference !== undefined ? { dockerReference: claims.dockerReference } : {}),
    };
  }
  // A message-signature bundle signs the image manifest bytes themselves (fetched by digest).
  return { kind: 'signature' };
}

/**
 * Whether a candidate is an attestation rather than a signature, by its shape alone (a DSSE in-toto
 * statement of another predicate type than cosign's signature): for counting and messages only, as
 * cosign counts; what it says is believed only after it verifies.
 */
export function isAttestationShaped(candidate: Candidate): boolean {
  if (!candidate.ok || candidate.bundle.content.$case !== 'dsseEnvelope') return false;
  const env = candidate.bundle.content.dsseEnvelope;
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) return false;
  try {
    const s = JSON.parse(env.payload.toString('utf8')) as { predicateType?: unknown };
    return typeof s.predicateType === 'string' && s.predicateType !== COSIGN_SIGN_PREDICATE;
  } catch {
    return false;
  }
}

function statementOf(bundle: Bundle): InTotoStatement {
  if (bundle.content.$case !== 'dsseEnvelope') throw new Error('not a DSSE envelope');
  const env = bundle.content.dsseEnvelope;
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new Rejected(
      'SIGNATURE_MALFORMED',
      `with DSSE payload type ${env.payloadType} (want ${IN_TOTO_PAYLOAD_TYPE})`,
    );
  }
  let s: InTotoStatement;
  try {
    s = JSON.parse(env.payload.toString('utf8')) as InTotoStatement;
  } catch {
    throw new Rejected('SIGNATURE_MALFORMED', 'with a DSSE payload that is not JSON');
  }
  // `_type` too: cosign decodes the statement into typed structs (found by the registry fuzzer:
  // `_type: [null]` passed)
  if (
    !isRecord(s) ||
    typeof s._type !== 'string' ||
    typeof s.predicateType !== 'string' ||
    !Array.isArray(s.subject)
  ) {
    throw new Rejected('SIGNATURE_MALFORMED', 'with a DSSE payload that is not an in-toto statement');
  }
  return s;
}
