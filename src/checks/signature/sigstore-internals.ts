/**
 * The one adapter around sigstore-js internals. Two things live here:
 *
 * - sigstore-js requires a signing time for certificates; for signatures that carry none (BYO PKI
 *   without Rekor or TSA, transparencyLog: optional) the chain is checked at the current time with
 *   sigstore-js's own certificate verification, as cosign does. That function is not part of
 *   @sigstore/verify's public API, so it is imported here and nowhere else.
 * - sigstore-js re-encodes a certificate from its parsed ASN.1 tree every time it compares two
 *   certificates or verifies one (`X509Certificate.equals` / `verify` / `publicKey` call
 *   `ASN1Obj.toDER()`, which grows a fresh zeroed 1 KiB buffer per node), about ten times per keyless
 *   signature, and re-verifies the trusted root certificate's self-signature each time. For
 *   certificates that are parsed and never modified (the trusted roots' and a bundle's leaf), each
 *   node's encoding is the bytes it was parsed from (checked to be what `toDER` would write) or
 *   computed once by sigstore-js's own `toDER`, and then reused; a trusted
 *   certificate's self-signature is verified once, and its public key imported once (OpenSSL 3's
 *   key import costs as much as a verification) instead of for every leaf it issued. Every leaf is
 *   still verified against its issuer, and every SCT, log entry and signature as before. The copy
 *   of the leaf sigstore-js strips of its SCT extension is made from the parsed tree, not parsed
 *   again, and certificates are parsed without capturing stacks for the errors the parser swallows.
 *
 * test/unit/checks/signature/sigstore-internals.test.ts fails loudly if a release moves, renames or
 * reshapes any of it.
 */
import { createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import type { SignedEntity, Signer, TrustMaterial } from '@sigstore/verify';
import { verifyCertificate } from '@sigstore/verify/dist/key/index.js';

/**
 * Runs `run` with V8's stack capture off: for code that throws and catches errors on its normal path,
 * each capturing a stack nobody reads. sigstore-js's ASN.1 parser tries every OCTET STRING's content
 * as nested ASN.1 (a Fulcio issuer, an SCT list are not: about three errors per certificate); Node
 * 24's `createPublicKey` tells a KeyObject from key material by catching a failed brand check.
 * Synchronous, so nothing else runs meanwhile; an error that escapes keeps its message, not a stack.
 */
export function withoutStackTraces<T>(run: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return run();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** sigstore-js's own certificate type (its @sigstore/core, which may differ from ours). */
export type LeafCertificate = Extract<SignedEntity['key'], { $case: 'certificate' }>['certificate'];

export interface CertificateChainResult {
  signer: Signer;
  /** Verified SCTs (none when the root has no CT logs or the certificate embeds none). */
  sctCount: number;
}

/** Verifies `leaf` chains to the root's certificate authorities at `at` and checks its SCTs; throws VerificationError. */
export function verifyCertificateChainAt(
  leaf: LeafCertificate,
  at: Date,
  material: TrustMaterial,
): CertificateChainResult {
  const result = verifyCertificate(leaf, [at], material);
  return { signer: result.signer, sctCount: result.scts.length };
}

/** The part of @sigstore/core's ASN1Obj the memo relies on. */
interface Asn1Node {
  tag: { toDER(): number };
  /** The content bytes as parsed (for a constructed node, its children's encodings, contiguous). */
  value: Buffer;
  subs: Asn1Node[];
  toDER(): Buffer;
}

/** Roots of ASN.1 trees already memoised (a certificate is walked once). */
const memoised = new WeakSet<object>();

function asn1Root(cert: LeafCertificate): Asn1Node {
  const root = (cert as unknown as { root?: Partial<Asn1Node> }).root;
  if (
    typeof root?.toDER !== 'function' ||
    !Array.isArray(root.subs) ||
    !Buffer.isBuffer(root.value) ||
    typeof root.tag?.toDER !== 'function'
  ) {
    throw new Error('sigstore-js X509Certificate has no ASN.1 root: its shape changed');
  }
  return root as Asn1Node;
}

/** DER's minimal length octets (what @sigstore/core's encodeLength writes). */
function lengthOctets(n: number): number[] {
  if (n < 128) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v % 256);
  return [0x80 | out.length, ...out];
}

/**
 * The bytes sigstore-js's `toDER` would produce for `node`, read from where it was parsed instead
 * of re-encoded, or undefined when they differ (a non-minimal length anywhere below): the tag and
 * minimal length must stand right before the content, and a constructed node's children must fill
 * its content exactly with such encodings (then their concatenation is the content).
 */
function parsedEncoding(node: Asn1Node, seeds: Map<Asn1Node, Buffer>): Buffer | undefined {
  let children = 0;
  let canonical = true;
  for (const sub of node.subs) {
    const der = parsedEncoding(sub, seeds);
    if (der === undefined) canonical = false;
    else children += der.length;
  }
  const { value } = node;
  if (!canonical || (node.subs.length > 0 && children !== value.length)) return undefined;
  const header = [node.tag.toDER(), ...lengthOctets(value.length)];
  const start = value.byteOffset - header.length;
  if (start < 0) return undefined;
  const der = Buffer.from(value.buffer, start, header.length + value.length);
  for (let i = 0; i < header.length; i++) if (der[i] !== header[i]) return undefined;
  seeds.set(node, der);
  return der;
}

/** A node as memoised: what its encoding was computed from, the encoding, and how to make it. */
interface Snapshot {
  tag: unknown;
  value: Buffer;
  subs: readonly Asn1Node[];
  der: Buffer | undefined;
  /** `der` is the bytes the node was parsed from (for a root: the whole certificate was DER). */
  parsed: boolean;
  encode: () => Buffer;
}

/** Where a memoised node keeps its snapshot (a property of its own: cheaper than a WeakMap entry). */
const SNAPSHOT = Symbol('imagegate.asn1.snapshot');
type Memoised = Asn1Node & { [SNAPSHOT]?: Snapshot };

/** Whether nothing in `node`'s subtree was replaced, added or removed since it was memoised. */
function intact(node: Memoised): boolean {
  const snap = node[SNAPSHOT];
  if (
    snap === undefined ||
    node.tag !== snap.tag ||
    node.value !== snap.value ||
    node.subs.length !== snap.subs.length
  ) {
    return false;
  }
  for (let i = 0; i < snap.subs.length; i++) {
    const sub = node.subs[i]!;
    if (sub !== snap.subs[i] || !intact(sub)) return false;
  }
  return true;
}

/** The `toDER` of a memoised node (one function for all of them). */
function memoisedToDER(this: Memoised): Buffer {
  const snap = this[SNAPSHOT]!;
  return intact(this) ? (snap.der ??= snap.encode.call(this)) : snap.encode.call(this);
}

/**
 * Memoises each ASN.1 node's DER encoding: the bytes it was parsed from when they are what
 * sigstore-js's own `toDER` would produce (always, for a DER certificate), otherwise that `toDER`'s
 * result, computed once. A node whose subtree has changed since (sigstore-js removes the SCT
 * extension from a copy of the leaf before it re-encodes it) is encoded again by `toDER`, from its
 * children's encodings. No caller writes into an encoding it gets back.
 */
export function memoiseEncoding<C extends LeafCertificate>(cert: C): C {
  const root = asn1Root(cert);
  if (memoised.has(root)) return cert;
  const seeds = new Map<Asn1Node, Buffer>();
  parsedEncoding(root, seeds);
  const stack: Memoised[] = [root];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    node[SNAPSHOT] = {
      tag: node.tag,
      value: node.value,
      subs: [...node.subs],
      der: seeds.get(node),
      parsed: seeds.has(node),
      encode: node.toDER,
    };
    node.toDER = memoisedToDER;
    stack.push(...node.subs);
  }
  memoised.add(root);
  return cert;
}

/** Certificates of trust material, and their public keys imported once (lazily: a key that does
 * not import fails where sigstore-js would have failed, in the check that uses it). */
const trusted = new WeakSet<object>();
const trustedKeys = new WeakMap<object, KeyObject>();

function trustedKey(cert: LeafCertificate): KeyObject {
  let key = trustedKeys.get(cert);
  if (key === undefined) {
    key = createPublicKey({ key: cert.publicKey, format: 'der', type: 'spki' });
    trustedKeys.set(cert, key);
  }
  return key;
}

/** What `X509Certificate.verify(issuer)` does (@sigstore/core), with the issuer's key already imported. */
function verifyIssuedBy(cert: LeafCertificate, key: KeyObject): boolean {
  try {
    return verifySignature(cert.signatureAlgorithm, cert.tbsCertificate.toDER(), key, cert.signatureValue);
  } catch {
    return false; // as sigstore-js: a signature that cannot be checked does not verify
  }
}

function defineMethod(target: object, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, configurable: true, writable: true });
}

/** A memoised node's copy: its own `subs` array, the same tag and content bytes, the same encoding. */
function copyNode(node: Memoised): Memoised {
  const snap = node[SNAPSHOT]!;
  const subs = node.subs.map(copyNode);
  const Node = node.constructor as new (tag: unknown, value: Buffer, subs: Asn1Node[]) => Memoised;
  const copy = new Node(node.tag, node.value, subs);
  copy[SNAPSHOT] = { ...snap, tag: copy.tag, value: copy.value, subs: [...subs] };
  copy.toDER = memoisedToDER;
  return copy;
}

/**
 * What `X509Certificate.clone` returns (a certificate parsed from the original's encoding), without
 * parsing it again: for a DER certificate nothing has changed since it was parsed from, parsing
 * its encoding gives the same tree, so the copy is that tree with arrays of its own (sigstore-js
 * splices the extension list of its copy; nothing writes into content bytes). Undefined otherwise.
 */
function copyOf<C extends LeafCertificate>(cert: C): C | undefined {
  const root = asn1Root(cert) as Memoised;
  if (root[SNAPSHOT]?.parsed !== true || !intact(root)) return undefined;
  const Cert = cert.constructor as new (root: Asn1Node) => C;
  const copy = new Cert(copyNode(root));
  memoised.add(asn1Root(copy));
  return copy;
}

/**
 * A bundle's leaf certificate: encodings memoised, and checked against a trusted issuer with that
 * issuer's key imported once. Any other issuer goes through sigstore-js's own `verify`.
 */
export function memoiseLeaf<C extends LeafCertificate>(cert: C): C {
  if (memoised.has(asn1Root(cert))) return cert;
  memoiseEncoding(cert);
  // The copy sigstore-js makes to strip the SCT extension: memoised too (only the changed nodes are
  // encoded again).
  const clone = cert.clone;
  defineMethod(
    cert,
    'clone',
    () => copyOf(cert) ?? memoiseEncoding(withoutStackTraces(() => clone.call(cert))),
  );
  const verify = cert.verify;
  defineMethod(cert, 'verify', (issuer?: LeafCertificate): boolean =>
    issuer !== undefined && trusted.has(issuer)
      ? verifyIssuedBy(cert, trustedKey(issuer))
      : verify.call(cert, issuer),
  );
  return cert;
}

/**
 * A trusted certificate: encodings memoised, its key imported once, and whether it is signed by
 * itself or by another trusted certificate decided once per issuer (the same bytes give the same
 * answer).
 */
function memoiseTrusted(cert: LeafCertificate): void {
  memoiseEncoding(cert);
  trusted.add(cert);
  const verify = cert.verify;
  const byIssuer = new WeakMap<object, boolean>();
  defineMethod(cert, 'verify', (issuer?: LeafCertificate): boolean => {
    const by = issuer ?? cert;
    if (!trusted.has(by)) return verify.call(cert, issuer);
    let ok = byIssuer.get(by);
    if (ok === undefined) {
      ok = verify.call(cert, issuer);
      byIssuer.set(by, ok);
    }
    return ok;
  });
}

/** Memoises the certificates of trust material made by `toTrustMaterial` (CAs and TSAs); returns it. */
export function withMemoisedCertificates(material: TrustMaterial): TrustMaterial {
  for (const authority of [...material.certificateAuthorities, ...material.timestampAuthorities]) {
    for (const cert of authority.certChain) memoiseTrusted(cert);
  }
  return material;
}
