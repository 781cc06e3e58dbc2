/**
 * sigstore-js Verifiers, built once per trusted root (and per key) and kept by the root itself
 * (`LoadedTrustedRoot.verifiers`, made when the engine's trusted-root store loads it), so a refreshed
 * root gets fresh verifiers, the old ones go with it, and two engines share none. Without a root (tlog
 * optional and the root unavailable) nothing is kept: a Verifier over one key is cheap to build.
 */
import { VerificationError, Verifier, type TrustMaterial } from '@sigstore/verify';
import type { KeyObject } from 'node:crypto';
import type { LoadedTrustedRoot } from './trusted-roots.js';

const EMPTY_MATERIAL: Omit<TrustMaterial, 'publicKey'> = {
  certificateAuthorities: [],
  timestampAuthorities: [],
  tlogs: [],
  ctlogs: [],
};

function cachedVerifier(root: LoadedTrustedRoot | undefined, key: string, make: () => Verifier): Verifier {
  if (root === undefined) return make();
  let v = root.verifiers.get(key);
  if (v === undefined) {
    v = make();
    root.verifiers.set(key, v, Infinity);
  }
  return v;
}

const noKeys: TrustMaterial['publicKey'] = (hint) => {
  throw new VerificationError({ code: 'PUBLIC_KEY_ERROR', message: `key not found: ${hint}` });
};

export function keylessVerifier(root: LoadedTrustedRoot, tlog: boolean): Verifier {
  const ct = root.summary.ctlogs > 0 ? 1 : 0;
  return cachedVerifier(
    root,
    `keyless|${tlog}`,
    () =>
      new Verifier(root.material, { tlogThreshold: tlog ? 1 : 0, ctlogThreshold: ct, timestampThreshold: 1 }),
  );
}

export function keyVerifier(
  root: LoadedTrustedRoot | undefined,
  key: KeyObject,
  keyId: string,
  tlog: boolean,
): Verifier {
  return cachedVerifier(root, `key|${keyId}|${tlog}`, () => {
    const material: TrustMaterial = {
      ...(root?.material ?? EMPTY_MATERIAL),
      publicKey: (hint) => {
        if (hint !== keyId) return noKeys(hint);
        return { publicKey: key, validFor: () => true };
      },
    };
    return new Verifier(material, { tlogThreshold: tlog ? 1 : 0, ctlogThreshold: 0, timestampThreshold: 0 });
  });
}
