/**
 * The DER encodings of sigstore-js certificates, memoised (see sigstore-internals.ts for why): each
 * ASN.1 node's encoding is the bytes it was parsed from when they are what sigstore-js's `toDER`
 * would write, checked once per node, and the copy sigstore-js makes of a leaf to strip its SCTs
 * shares every node its splice cannot reach. A node whose subtree changed is encoded again.
 */
import type { SignedEntity } from '@sigstore/verify';

/** sigstore-js's own certificate type (its @sigstore/core, which may differ from ours). */
export type LeafCertificate = Extract<SignedEntity['key'], { $case: 'certificate' }>['certificate'];

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

/**
 * Where the DER encoding of a node with these tag and content bytes starts in the content's buffer
 * (tag and minimal length octets, as @sigstore/core's encodeLength writes them, right before the
 * content), or -1 when they are not there. `bytes` views the content's whole ArrayBuffer.
 */
function headerStart(tag: number, value: Buffer, bytes: Uint8Array): number {
  const n = value.length;
  let octets = 0; // length octets after the first, for the long form
  if (n >= 128) for (let v = n; v > 0; v = Math.floor(v / 256)) octets++;
  const start = value.byteOffset - 2 - octets;
  if (start < 0 || bytes[start] !== tag) return -1;
  if (octets === 0) return bytes[start + 1] === n ? start : -1;
  if (bytes[start + 1] !== (0x80 | octets)) return -1;
  for (let i = 0, v = n; i < octets; i++, v = Math.floor(v / 256)) {
    if (bytes[start + 1 + octets - i] !== v % 256) return -1;
  }
  return start;
}

/** A node as memoised: what its encoding was computed from, the encoding, and how to make it. */
interface Snapshot {
  tag: unknown;
  value: Buffer;
  subs: readonly Asn1Node[];
  der: Buffer | undefined;
  /** Where the bytes the node was parsed from start, when they are its encoding (else -1). */
  start: number;
  encode: () => Buffer;
  /** A sealed node's `toOID()`, computed once (its content bytes cannot be replaced). */
  oid: string | undefined;
}

/** Where a memoised node keeps its snapshot (a property of its own: cheaper than a WeakMap entry). */
const SNAPSHOT = Symbol('imagegate.asn1.snapshot');
type Memoised = Asn1Node & { [SNAPSHOT]?: Snapshot };
const NO_SUBS: readonly Asn1Node[] = Object.freeze([]);

/** Whether nothing in `node`'s subtree was replaced, added or removed since it was memoised. */
function intact(node: Memoised): boolean {
  if (Object.isFrozen(node)) return true; // sealed right after it was memoised, with its whole subtree
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

/** The bytes a snapshot's node was parsed from (a view, made when first asked for). */
function parsedBytes(snap: Snapshot): Buffer {
  const { value, start } = snap;
  return Buffer.from(value.buffer, start, value.byteOffset - start + value.length);
}

/** The `toDER` of a memoised node (one function for all of them). */
function memoisedToDER(this: Memoised): Buffer {
  const snap = this[SNAPSHOT]!;
  if (!intact(this)) return snap.encode.call(this);
  return (snap.der ??= snap.start >= 0 ? parsedBytes(snap) : snap.encode.call(this));
}

/** sigstore-js's own `ASN1Obj.toOID` (the prototype's). */
function originalToOID(node: Asn1Node): string {
  return (Object.getPrototypeOf(node) as { toOID(this: Asn1Node): string }).toOID.call(node);
}

/**
 * The `toOID` of a sealed node: sigstore-js looks an extension up by parsing the OID of every
 * extension of a certificate again (a string each) at each lookup, a dozen lookups per signature.
 * A node that is not an OID throws as sigstore-js's does, every time.
 */
function memoisedToOID(this: Memoised): string {
  const snap = this[SNAPSHOT];
  if (snap === undefined || !Object.isFrozen(this)) return originalToOID(this);
  return (snap.oid ??= originalToOID(this));
}

/**
 * Memoises `node`'s subtree (one pass, children first); returns whether the node's parsed bytes are
 * its encoding: its tag and minimal length stand right before its content, and a constructed
 * node's children fill that content exactly with such encodings (then their concatenation is it).
 * `bytes` views the ArrayBuffer the tree was parsed from (all of a certificate's, as parsed).
 * `sealing`: the tree is frozen right after, so `intact` needs no copy of its `subs`.
 */
function memoiseNode(node: Memoised, bytes: Uint8Array, sealing: boolean): boolean {
  const { subs, value } = node;
  const view = value.buffer === bytes.buffer ? bytes : new Uint8Array(value.buffer);
  let canonical = true;
  let at = value.byteOffset; // where the next child's encoding must start
  for (let i = 0; i < subs.length; i++) {
    const sub = subs[i] as Memoised;
    if (memoiseNode(sub, view, sealing) && sub.value.buffer === value.buffer && sub[SNAPSHOT]!.start === at) {
      at = sub.value.byteOffset + sub.value.length;
    } else {
      canonical = false;
    }
  }
  const start =
    canonical && (subs.length === 0 || at === value.byteOffset + value.length)
      ? headerStart(node.tag.toDER(), value, view)
      : -1;
  node[SNAPSHOT] = {
    tag: node.tag,
    value,
    subs: subs.length === 0 || sealing ? NO_SUBS : subs.slice(),
    der: undefined,
    start,
    encode: node.toDER,
    oid: undefined,
  };
  node.toDER = memoisedToDER;
  if (sealing) (node as Memoised & { toOID(): string }).toOID = memoisedToOID;
  return start >= 0;
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
  memoiseNode(root, new Uint8Array(root.value.buffer), false);
  memoised.add(root);
  return cert;
}

/** Freezes `node`, its `subs` array and its subtree (a write into any of them throws). */
function freezeTree(node: Asn1Node): void {
  for (const sub of node.subs) freezeTree(sub);
  Object.freeze(node.subs);
  Object.freeze(node);
}

/**
 * `memoiseEncoding`, then the tree frozen: for certificates sigstore-js only reads (the trusted
 * roots' and a bundle's leaf; it writes only into the copy it strips of SCTs, which `copyOf` makes
 * of nodes of its own along that path), so their memoised encodings are current without walking
 * the tree at each use. A write (sigstore-js does none) throws instead of leaving stale bytes.
 */
export function sealEncoding<C extends LeafCertificate>(cert: C): C {
  const root = asn1Root(cert);
  if (memoised.has(root)) return cert;
  memoiseNode(root, new Uint8Array(root.value.buffer), true);
  memoised.add(root);
  freezeTree(root);
  return cert;
}

/** DER's identifier octet of a TBS certificate's `[3] EXPLICIT Extensions` (context-specific, constructed). */
const EXTENSIONS_TAG = 0xa3;

/** A node with the same tag and content bytes and a `subs` array of its own, encoded by sigstore-js. */
function shallowCopy(node: Asn1Node, subs: Asn1Node[]): Asn1Node {
  const Node = node.constructor as new (tag: unknown, value: Buffer, subs: Asn1Node[]) => Asn1Node;
  return new Node(node.tag, node.value, subs);
}

/**
 * What `X509Certificate.clone` returns (a certificate parsed from the original's encoding), without
 * parsing it again: for a DER certificate nothing has changed since it was parsed from, parsing
 * its encoding gives the same tree. sigstore-js splices the extension list of its copy and writes
 * nothing else, so the copy has nodes of its own (with arrays of their own, re-encoded from their
 * children by sigstore-js's `toDER`) along the path that splice changes: the certificate, its TBS,
 * the TBS's `[3]` and the extension list; every other node is the leaf's (memoised; sealed for a
 * sealed leaf: a write into one throws). Undefined for any other leaf.
 */
export function copyOf<C extends LeafCertificate>(cert: C): C | undefined {
  const root = asn1Root(cert) as Memoised;
  if (root[SNAPSHOT] === undefined || root[SNAPSHOT].start < 0 || !intact(root)) return undefined;
  const [tbs, ...rest] = root.subs;
  if (tbs === undefined) return undefined;
  const tbsSubs = tbs.subs.map((sub) =>
    sub.tag.toDER() === EXTENSIONS_TAG
      ? shallowCopy(
          sub,
          sub.subs.map((l) => shallowCopy(l, [...l.subs])),
        )
      : sub,
  );
  const Cert = cert.constructor as new (root: Asn1Node) => C;
  const copy = new Cert(shallowCopy(root, [shallowCopy(tbs, tbsSubs), ...rest]));
  memoised.add(asn1Root(copy));
  return copy;
}

/** Whether `cert`'s encodings are memoised already (or it is a copy made by `copyOf`). */
export function isMemoised(cert: LeafCertificate): boolean {
  return memoised.has(asn1Root(cert));
}
