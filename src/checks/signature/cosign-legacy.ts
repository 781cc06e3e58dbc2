/**
 * The legacy cosign storage format (tags `sha256-<hex>.sig` and `.att`): each manifest layer is a
 * payload whose signature and verification material sit in annotations. `toBundle` turns one layer
 * into a Sigstore bundle (v0.1 style: Rekor SET → inclusion promise) so that one sigstore-js Verifier
 * checks both formats. Nothing is trusted here: this is pure conversion.
 */
import type { Bundle } from '@sigstore/bundle';
import { crypto, pem } from '@sigstore/core';
import { isRecord } from '../../shared/guards.js';
import { toBundleFromJSON } from './bundle-json.js';

/** Cosign caps payloads at 128 MiB; imagegate reads at most 1 MiB of a signature payload. */
export const MAX_PAYLOAD_BYTES = 1024 * 1024;

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const DSSE_ENVELOPE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';

export const ANNOTATION_SIGNATURE = 'dev.cosignproject.cosign/signature';
export const ANNOTATION_CERTIFICATE = 'dev.sigstore.cosign/certificate';
export const ANNOTATION_CHAIN = 'dev.sigstore.cosign/chain';
export const ANNOTATION_BUNDLE = 'dev.sigstore.cosign/bundle';
export const ANNOTATION_RFC3161 = 'dev.sigstore.cosign/rfc3161timestamp';

const BUNDLE_V01 = 'application/vnd.dev.sigstore.bundle+json;version=0.1';

export interface LegacyLayer {
  mediaType: string;
  annotations: Record<string, string>;
  /** The layer blob: the simple-signing payload or the DSSE envelope JSON. */
  blob: Uint8Array;
}

export interface ConvertedSignature {
  bundle: Bundle;
  /** For simple-signing layers: the payload the signature covers. */
  artifact?: Buffer;
  /** For DSSE layers: the envelope as stored (cosign 2 timestamps these bytes). */
  envelope?: Buffer;
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

function base64(value: string, what: string): string {
  const v = value.replace(/\s+/g, '');
  if (v.length === 0 || !B64.test(v)) throw new Error(`${what} is not base64`);
  return v;
}

const PEM_BEGIN = '-----BEGIN CERTIFICATE-----';
const PEM_END = '-----END CERTIFICATE-----';
/** A certificate or chain annotation longer than this is malformed (a real chain is a few KiB). */
export const MAX_PEM_CHARS = 64 * 1024;
/** Certificates read from one chain annotation (Fulcio chains have two). */
export const MAX_CHAIN_CERTIFICATES = 8;

/**
 * The PEM certificate blocks of `text`, in one linear scan (a lazy `BEGIN[\s\S]*?END` regexp is
 * quadratic on a header repeated thousands of times without an END).
 */
export function splitPem(text: string, what: string): string[] {
  if (text.length > MAX_PEM_CHARS) throw new Error(`${what} is longer than ${MAX_PEM_CHARS} characters`);
  const out: string[] = [];
  let from = 0;
  for (;;) {
    const begin = text.indexOf(PEM_BEGIN, from);
    if (begin < 0) return out;
    const end = text.indexOf(PEM_END, begin + PEM_BEGIN.length);
    if (end < 0) return out;
    if (out.length === MAX_CHAIN_CERTIFICATES) {
      throw new Error(`${what} holds more than ${MAX_CHAIN_CERTIFICATES} certificates`);
    }
    from = end + PEM_END.length;
    out.push(text.slice(begin, from));
  }
}

interface RekorBundleAnnotation {
  SignedEntryTimestamp: string;
  Payload: { body: string; integratedTime: number; logIndex: number; logID: string };
}

function isRekorBundle(v: unknown): v is RekorBundleAnnotation {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  const p = o.Payload as Record<string, unknown> | undefined;
  return (
    typeof o.SignedEntryTimestamp === 'string' &&
    typeof p === 'object' &&
    p !== null &&
    typeof p.body === 'string' &&
    typeof p.integratedTime === 'number' &&
    typeof p.logIndex === 'number' &&
    typeof p.logID === 'string'
  );
}

/** The Rekor SET annotation as a bundle tlog entry (kind/version read from the logged body). */
function toTlogEntry(annotation: string): object {
  const parsed: unknown = JSON.parse(annotation);
  if (!isRekorBundle(parsed)) throw new Error(`${ANNOTATION_BUNDLE} is not a Rekor bundle`);
  const { integratedTime, logIndex, logID } = parsed.Payload;
  const body = base64(parsed.Payload.body, 'Rekor body');
  const logged: unknown = JSON.parse(Buffer.from(body, 'base64').toString('utf8'));
  const kind = (logged as { kind?: unknown }).kind;
  const version = (logged as { apiVersion?: unknown }).apiVersion;
  if (typeof kind !== 'string' || typeof version !== 'string')
    throw new Error('Rekor body has no kind/apiVersion');
  if (!/^[0-9a-f]{64}$/.test(logID)) throw new Error('Rekor logID is not hex');
  return {
    logIndex: String(logIndex),
    logId: { keyId: Buffer.from(logID, 'hex').toString('base64') },
    kindVersion: { kind, version },
    integratedTime: String(integratedTime),
    inclusionPromise: { signedEntryTimestamp: base64(parsed.SignedEntryTimestamp, 'SignedEntryTimestamp') },
    canonicalizedBody: body,
  };
}

function toRfc3161(annotation: string): object {
  const parsed = JSON.parse(annotation) as { SignedRFC3161Timestamp?: unknown };
  if (typeof parsed.SignedRFC3161Timestamp !== 'string') {
    throw new Error(`${ANNOTATION_RFC3161} has no SignedRFC3161Timestamp`);
  }
  return { signedTimestamp: base64(parsed.SignedRFC3161Timestamp, 'RFC 3161 timestamp') };
}

function verificationMaterial(annotations: Record<string, string>): object {
  const cert = annotations[ANNOTATION_CERTIFICATE];
  const chain = annotations[ANNOTATION_CHAIN];
  let content: object;
  if (cert !== undefined && cert.trim().length > 0) {
    const pems = [
      ...splitPem(cert, ANNOTATION_CERTIFICATE).slice(0, 1),
      ...splitPem(chain ?? '', ANNOTATION_CHAIN),
    ];
    if (pems.length === 0) throw new Error(`${ANNOTATION_CERTIFICATE} holds no PEM certificate`);
    content = {
      x509CertificateChain: {
        certificates: pems.map((p) => ({ rawBytes: pem.toDER(p).toString('base64') })),
      },
    };
  } else {
    // Key-based: the verifier substitutes the policy key for this placeholder hint.
    content = { publicKey: { hint: '' } };
  }
  const bundleAnnotation = annotations[ANNOTATION_BUNDLE];
  const rfc3161 = annotations[ANNOTATION_RFC3161];
  for (const [name, value] of [
    [ANNOTATION_BUNDLE, bundleAnnotation],
    [ANNOTATION_RFC3161, rfc3161],
  ] as const) {
    // length before parsing: a Rekor bundle or RFC 3161 timestamp is a few KiB
    if (value !== undefined && value.length > MAX_PEM_CHARS)
      throw new Error(`${name} is longer than ${MAX_PEM_CHARS} characters`);
  }
  return {
    ...content,
    tlogEntries: bundleAnnotation !== undefined ? [toTlogEntry(bundleAnnotation)] : [],
    ...(rfc3161 !== undefined
      ? { timestampVerificationData: { rfc3161Timestamps: [toRfc3161(rfc3161)] } }
      : {}),
  };
}

/**
 * One legacy layer as a Sigstore bundle. Throws a plain Error saying what is malformed; the caller
 * reports it as SIGNATURE_MALFORMED.
 */
export function toBundle(layer: LegacyLayer, maxBytes = MAX_PAYLOAD_BYTES): ConvertedSignature {
  if (layer.blob.byteLength > maxBytes) throw new Error(`payload larger than ${maxBytes} bytes`);
  const material = verificationMaterial(layer.annotations);
  if (layer.mediaType === SIMPLE_SIGNING_MEDIA_TYPE) {
    const signature = layer.annotations[ANNOTATION_SIGNATURE];
    if (signature === undefined) throw new Error(`layer has no ${ANNOTATION_SIGNATURE} annotation`);
    const artifact = Buffer.from(layer.blob);
    const bundle = toBundleFromJSON({
      mediaType: BUNDLE_V01,
      verificationMaterial: material,
      messageSignature: {
        messageDigest: {
          algorithm: 'SHA2_256',
          digest: crypto.digest('sha256', artifact).toString('base64'),
        },
        signature: base64(signature, 'signature'),
      },
    });
    return { bundle, artifact };
  }
  if (layer.mediaType === DSSE_ENVELOPE_MEDIA_TYPE) {
    const env = JSON.parse(Buffer.from(layer.blob).toString('utf8')) as {
      payloadType?: unknown;
      payload?: unknown;
      signatures?: unknown;
    };
    if (
      typeof env.payloadType !== 'string' ||
      typeof env.payload !== 'string' ||
      !Array.isArray(env.signatures)
    ) {
      throw new Error('layer is not a DSSE envelope');
    }
    const bundle = toBundleFromJSON({
      mediaType: BUNDLE_V01,
      verificationMaterial: material,
      dsseEnvelope: {
        payloadType: env.payloadType,
        payload: base64(env.payload, 'DSSE payload'),
        signatures: (env.signatures as { sig?: unknown; keyid?: unknown }[]).map((s) => ({
          sig: base64(typeof s.sig === 'string' ? s.sig : '', 'DSSE signature'),
          keyid: typeof s.keyid === 'string' ? s.keyid : '',
        })),
      },
    });
    return { bundle, envelope: Buffer.from(layer.blob) };
  }
  throw new Error(`layer of type ${layer.mediaType} is not a cosign signature`);
}

/** The claims of a cosign simple-signing payload imagegate reads. */
export interface SimpleSigningClaims {
  type: string;
  dockerManifestDigest: string;
  dockerReference?: string;
}

export function toSimpleSigningClaims(payload: Buffer): SimpleSigningClaims {
  const doc = JSON.parse(payload.toString('utf8')) as {
    critical?: {
      type?: unknown;
      image?: { 'docker-manifest-digest'?: unknown };
      identity?: { 'docker-reference'?: unknown };
    };
  };
  const c = doc.critical;
  const digest = c?.image?.['docker-manifest-digest'];
  if (typeof c?.type !== 'string' || typeof digest !== 'string') {
    throw new Error('simple-signing payload has no critical.type / critical.image.docker-manifest-digest');
  }
  // cosign decodes the payload into typed structs and rejects a wrong-typed identity; so do we
  // (found by the registry fuzzer: `identity: 12345` passed)
  if (c.identity !== undefined && c.identity !== null && !isRecord(c.identity)) {
    throw new Error('simple-signing payload critical.identity is not an object');
  }
  const ref = c.identity?.['docker-reference'];
  if (ref !== undefined && ref !== null && typeof ref !== 'string') {
    throw new Error('simple-signing payload critical.identity.docker-reference is not a string');
  }
  return {
    type: c.type,
    dockerManifestDigest: digest,
    ...(typeof ref === 'string' ? { dockerReference: ref } : {}),
  };
}
