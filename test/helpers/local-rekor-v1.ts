/**
 * What Rekor v1 logs for a proposed entry (its types' Canonicalize): `@sigstore/mock`'s log stores the
 * proposal as sent, but a real Rekor replaces a `dsse` 0.0.1 proposal's envelope by its hashes and
 * signatures, and a DSSE-in-`intoto` 0.0.2 proposal's payload by its hash; verifiers (sigstore-js,
 * cosign) read those fields. `hashedrekord` proposals are logged as sent.
 */
import { createHash } from 'node:crypto';

const sha256hex = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

interface Proposed {
  apiVersion?: string;
  kind?: string;
  spec?: Record<string, unknown>;
}

interface DsseProposal {
  proposedContent: { envelope: string; verifiers: string[] };
}

interface IntotoProposal {
  content: {
    envelope: { payload: string; payloadType: string; signatures: unknown[] };
    hash?: unknown;
    payloadHash?: unknown;
  };
}

export function rekorV1Canonical(entry: Proposed): Proposed {
  if (entry.kind === 'dsse' && entry.apiVersion === '0.0.1') {
    const { envelope, verifiers } = (entry.spec as unknown as DsseProposal).proposedContent;
    const env = JSON.parse(envelope) as { payload: string; signatures: Array<{ sig: string }> };
    // One signature per envelope is what cosign writes; the verifier of each is the one proposed with it.
    const signatures = env.signatures
      .map((s, i) => ({ signature: s.sig, verifier: verifiers[i] ?? verifiers[0] }))
      .sort((a, b) => (a.signature < b.signature ? -1 : a.signature > b.signature ? 1 : 0));
    return {
      apiVersion: '0.0.1',
      kind: 'dsse',
      spec: {
        envelopeHash: { algorithm: 'sha256', value: sha256hex(envelope) },
        payloadHash: { algorithm: 'sha256', value: sha256hex(Buffer.from(env.payload, 'base64')) },
        signatures,
      },
    };
  }
  if (entry.kind === 'intoto' && entry.apiVersion === '0.0.2') {
    const { content } = entry.spec as unknown as IntotoProposal;
    // The model's payload is base64 of the envelope's (base64) payload.
    const raw = Buffer.from(Buffer.from(content.envelope.payload, 'base64').toString('utf8'), 'base64');
    return {
      apiVersion: '0.0.2',
      kind: 'intoto',
      spec: {
        content: {
          envelope: { payloadType: content.envelope.payloadType, signatures: content.envelope.signatures },
          ...(content.hash !== undefined ? { hash: content.hash } : {}),
          payloadHash: { algorithm: 'sha256', value: sha256hex(raw) },
        },
      },
    };
  }
  return entry;
}
