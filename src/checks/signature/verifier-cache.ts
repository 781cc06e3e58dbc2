/**
 * sigstore-js Verifiers, built once per trusted root (and per key) and cached on the root object, so a
 * refreshed root gets fresh verifiers and the old ones are collected with it.
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

const cache = new WeakMap<object, Map<string, Verifier>>();

function cachedVerifier(owner: object, key: string, make: () => Verifier): Verifier {
  let byKey = cache.get(owner);
  if (byKey === undefined) {
    byKey = new Map();
    cache.set(owner, byKey);
  }
  let v = byKey.get(key);
  if (v === undefined) {
    v = make();
    byKey.set(key, v);
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

/** Without a root (tlog optional and root unavailable) the verifier is cached on `rootCacheOwner`. */
export function keyVerifier(
  root: LoadedTrustedRoot | undefined,
  key: KeyObject,
  keyId: string,
  tlog: boolean,
  rootCacheOwner: object,
): Verifier {
  return cachedVerifier(root ?? rootCacheOwner, `key|${keyId}|${tlog}`, () => {
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
