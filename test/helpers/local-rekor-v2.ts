/**
 * A Rekor v2 log (rekor-tiles' `POST /api/v2/log/entries`) for the loopback Sigstore: every entry is a
 * `hashedrekord` 0.0.2 (sigstore-go logs a DSSE envelope as a hashedrekord over its PAE, as
 * rekor-tiles does), appended to an RFC 6962 Merkle tree held in memory; the answer carries the
 * inclusion proof and a checkpoint signed as a C2SP signed note whose origin is the log's host name
 * (what sigstore-go and sigstore-js check), no SET and no integrated time. `@sigstore/mock`'s own v2
 * handler logs the request itself as the body, which neither verifier accepts.
 */
import { createHash, sign, type KeyObject } from 'node:crypto';

const sha256 = (...parts: Buffer[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const leafHash = (body: Buffer) => sha256(Buffer.from([0]), body);
const nodeHash = (l: Buffer, r: Buffer) => sha256(Buffer.from([1]), l, r);

/** The largest power of two smaller than n (n > 1). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function root(leaves: Buffer[]): Buffer {
  if (leaves.length === 1) return leaves[0] as Buffer;
  const k = split(leaves.length);
  return nodeHash(root(leaves.slice(0, k)), root(leaves.slice(k)));
}

/** RFC 6962 §2.1.1 PATH(m, D[n]). */
function path(m: number, leaves: Buffer[]): Buffer[] {
  if (leaves.length <= 1) return [];
  const k = split(leaves.length);
  return m < k
    ? [...path(m, leaves.slice(0, k)), root(leaves.slice(k))]
    : [...path(m - k, leaves.slice(k)), root(leaves.slice(0, k))];
}

type Verifier = { keyDetails: string } & Record<string, unknown>;
/**
 * Protobuf JSON of rekor v2's create-entry request: sigstore-go 1.2 posts a hashedrekord for both
 * message signatures and DSSE envelopes (over the PAE), sigstore-go 1.1 (cosign 2) a DSSE request.
 */
interface CreateEntryRequest {
  hashedRekordRequestV002?: { digest: string; signature: { content: string; verifier: Verifier } };
  dsseRequestV002?: {
    envelope: { payload: string; payloadType: string; signatures: Array<{ sig: string }> };
    verifiers: Verifier[];
  };
}

/** JSON with keys sorted at every level (RFC 8785 for the strings and objects used here). */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

export class LocalRekorV2 {
  private readonly leaves: Buffer[] = [];
  private readonly keyId: Buffer;

  constructor(
    private readonly origin: string,
    private readonly key: { publicKey: KeyObject; privateKey: KeyObject },
  ) {
    this.keyId = sha256(key.publicKey.export({ format: 'der', type: 'spki' }));
  }

  /** Handles one create-entry request body; answers the TransparencyLogEntry as protobuf JSON. */
  add(requestJson: string): { statusCode: number; response: string; contentType: string } {
    const entryBody = this.entryOf(JSON.parse(requestJson) as CreateEntryRequest);
    if (entryBody === undefined)
      return { statusCode: 400, response: 'not a hashedrekord or DSSE request', contentType: 'text/plain' };
    const kind = entryBody.kind;
    const body = Buffer.from(canonical(entryBody));
    this.leaves.push(leafHash(body));
    const index = this.leaves.length - 1;
    const size = this.leaves.length;
    const rootHash = root(this.leaves);
    const note = `${this.origin}\n${size}\n${rootHash.toString('base64')}\n`;
    const signature = sign('sha256', Buffer.from(note), this.key.privateKey);
    const sigLine = `\u2014 ${this.origin} ${Buffer.concat([this.keyId.subarray(0, 4), signature]).toString('base64')}`;
    const entry = {
      logIndex: String(index),
      logId: { keyId: this.keyId.toString('base64') },
      kindVersion: { kind, version: '0.0.2' },
      inclusionProof: {
        logIndex: String(index),
        rootHash: rootHash.toString('base64'),
        treeSize: String(size),
        hashes: path(index, this.leaves).map((h) => h.toString('base64')),
        checkpoint: { envelope: `${note}\n${sigLine}\n` },
      },
      canonicalizedBody: body.toString('base64'),
    };
    return { statusCode: 201, response: JSON.stringify(entry), contentType: 'application/json' };
  }

  /** The entry rekor-tiles logs for a request (its ToLogEntry), or undefined for anything else. */
  private entryOf(req: CreateEntryRequest): ({ kind: string } & Record<string, unknown>) | undefined {
    const h = req.hashedRekordRequestV002;
    if (h?.digest && h.signature?.content && h.signature.verifier) {
      const details = h.signature.verifier.keyDetails;
      const algorithm = /P384/.test(details) ? 'SHA2_384' : /P521/.test(details) ? 'SHA2_512' : 'SHA2_256';
      return {
        apiVersion: '0.0.2',
        kind: 'hashedrekord',
        spec: { hashedRekordV002: { data: { algorithm, digest: h.digest }, signature: h.signature } },
      };
    }
    const d = req.dsseRequestV002;
    const sig = d?.envelope.signatures[0]?.sig;
    const verifier = d?.verifiers[0];
    if (d === undefined || sig === undefined || verifier === undefined || d.envelope.signatures.length !== 1)
      return undefined;
    const payloadHash = sha256(Buffer.from(d.envelope.payload, 'base64')).toString('base64');
    return {
      apiVersion: '0.0.2',
      kind: 'dsse',
      spec: {
        dsseV002: {
          payloadHash: { algorithm: 'SHA2_256', digest: payloadHash },
          signatures: [{ content: sig, verifier }],
        },
      },
    };
  }
}
