/**
 * The base section compiled at policy load: allowed entries (glob, candidates, verifier), the proof
 * level, maxAge and the image's own signature verifier. Bad input throws ConfigError here, never in a run.
 */
import { ConfigError } from '../../errors.js';
import { compileGlob, globHasVersion } from '../../policy/glob.js';
import type { SignatureSpec } from '../signature/schema.js';
import type { BaseSpec } from './schema.js';
import {
  formatReference,
  parseReference,
  repositoryName,
  type ImageReference,
} from '../../registry/reference.js';
import { imageSignatureWhere } from '../signature/check.js';
import type { SignatureDeps, SignatureVerifier } from '../signature/types.js';
import { compileSignatureVerifier } from '../signature/verifier.js';
import { parseMaxAge } from './layers.js';
import type { ProofLevel } from './types.js';

export interface Entry {
  image: string;
  matches(ref: ImageReference): boolean;
  verifier?: SignatureVerifier;
  candidates: ImageReference[];
}

export interface BasePolicy {
  policyName: string;
  entries: Entry[];
  proof: ProofLevel;
  /** As written (`30d`) for messages, and in milliseconds. */
  maxAge?: { text: string; ms: number };
  /** Verifies the image's own signatures and provenance attestations (the policy's signature section). */
  imageVerifier?: SignatureVerifier;
  /** `"a", "b"`: the allowed images, for messages. */
  allowedList: string;
}

function compileEntries(spec: BaseSpec, policyName: string, deps: SignatureDeps): Entry[] {
  return spec.allowed.map((a, i) => {
    const where = `policy "${policyName}" base.allowed[${i}]`;
    const glob = compileGlob(a.image);
    const full = globHasVersion(a.image);
    const matches = (ref: ImageReference): boolean => glob(full ? formatReference(ref) : repositoryName(ref));
    const candidates = (a.candidates ?? []).map((c) => {
      let ref: ImageReference;
      try {
        ref = parseReference(c);
      } catch (err) {
        throw new ConfigError('POLICY_INVALID', `${where}.candidates: ${(err as Error).message}`);
      }
      if (!matches(ref)) {
        throw new ConfigError('POLICY_INVALID', `${where}.candidates: ${c} does not match "${a.image}"`);
      }
      return ref;
    });
    return {
      image: a.image,
      matches,
      candidates,
      ...(a.signature !== undefined
        ? { verifier: compileSignatureVerifier(a.signature, `${where}.signature`, deps) }
        : {}),
    };
  });
}

/** `imageSignature` is the same policy's signature section. */
export function compileBasePolicy(
  spec: BaseSpec,
  policyName: string,
  imageSignature: SignatureSpec | undefined,
  deps: SignatureDeps,
): BasePolicy {
  const entries = compileEntries(spec, policyName, deps);
  const maxAge =
    spec.maxAge !== undefined
      ? { text: spec.maxAge, ms: parseMaxAge(spec.maxAge, `policy "${policyName}" base.maxAge`) }
      : undefined;
  const imageVerifier =
    imageSignature !== undefined
      ? compileSignatureVerifier(imageSignature, imageSignatureWhere(policyName), deps)
      : undefined;
  return {
    policyName,
    entries,
    proof: spec.proof ?? 'layers',
    ...(maxAge !== undefined ? { maxAge } : {}),
    ...(imageVerifier !== undefined ? { imageVerifier } : {}),
    allowedList: entries.map((e) => `"${e.image}"`).join(', '),
  };
}
