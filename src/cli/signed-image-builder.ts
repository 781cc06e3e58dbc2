/**
 * The bytes of a tiny OCI image and of its cosign legacy `.sig` signature made with a key, as
 * `cosign sign --key` stores them (and the bundle form: a DSSE statement as a referrer): pure, no I/O. `serve --warm-up` (warm-up.ts) serves them from
 * memory; the tests' and benchmarks' signed images (test/helpers/signed-images.ts) push the same
 * documents to a real registry, so both sign images one way.
 */
import { createHash } from 'node:crypto';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** A manifest and the blobs it names, in the order a client would push them (blobs first). */
export interface BuiltDocuments {
  /** The manifest's digest. */
  digest: string;
  manifest: Buffer;
  /** Every blob the manifest names (config first). */
  blobs: Buffer[];
}

export const digestOf = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export const descriptorOf = (mediaType: string, b: Buffer): Descriptor => ({
  mediaType,
  digest: digestOf(b),
  size: b.byteLength,
});

/** An OCI image manifest over `config` (an OCI config blob) and `layers` (descriptors). */
export function imageManifest(config: Buffer, layers: readonly object[] = []): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: descriptorOf(OCI_CONFIG, config),
      layers,
    }),
  );
}

/** An image of `config` (an object, serialized here) and uncompressed tar `layers`. */
export function imageDocuments(config: object, layers: readonly Buffer[] = []): BuiltDocuments {
  const configBytes = Buffer.from(JSON.stringify(config));
  const manifest = imageManifest(
    configBytes,
    layers.map((l) => descriptorOf('application/vnd.oci.image.layer.v1.tar', l)),
  );
  return { digest: digestOf(manifest), manifest, blobs: [configBytes, ...layers] };
}

/** cosign's simple-signing payload: this signature is for `repository`@`digest`. */
export function simpleSigningPayload(repository: string, digest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': repository },
        image: { 'docker-manifest-digest': digest },
        type: 'cosign container image signature',
      },
      optional: null,
    }),
  );
}

/** The `.sig` tag cosign stores `digest`'s legacy signatures under. */
export const signatureTag = (digest: string): string => `${digest.replace(':', '-')}.sig`;

/**
 * The `.sig` manifest (tag `signatureTag(digest)`) and blobs of one signature over `payload` (a
 * `simpleSigningPayload`); `annotations` beside the signature's (a keyless certificate, chain, log entry).
 */
export function legacySignatureDocuments(
  digest: string,
  payload: Buffer,
  signature: Buffer,
  annotations: Record<string, string> = {},
): BuiltDocuments & { tag: string } {
  const empty = Buffer.from('{}');
  const manifest = imageManifest(empty, [
    {
      ...descriptorOf(SIMPLE_SIGNING, payload),
      annotations: { [COSIGN_SIGNATURE_ANNOTATION]: signature.toString('base64'), ...annotations },
    },
  ]);
  return { digest: digestOf(manifest), manifest, blobs: [empty, payload], tag: signatureTag(digest) };
}

/**
 * `repository`@`digest` signed by `sign` (the raw signature over the payload, e.g. ECDSA with
 * SHA-256), as `cosign sign --key` stores it.
 */
export function keySignatureDocuments(
  repository: string,
  digest: string,
  sign: (payload: Buffer) => Buffer,
): BuiltDocuments & { tag: string } {
  const payload = simpleSigningPayload(repository, digest);
  return legacySignatureDocuments(digest, payload, sign(payload));
}

export const IN_TOTO = 'application/vnd.in-toto+json';
export const BUNDLE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';

/** DSSE's pre-authentication encoding: what a DSSE signature signs. */
export function dssePae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType);
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `),
    type,
    Buffer.from(` ${payload.length} `),
    payload,
  ]);
}

/** The in-toto statement `cosign sign --new-bundle-format` signs: `digest` of `repository`. */
export function cosignSignStatement(repository: string, digest: string): Buffer {
  const [alg, hex] = digest.split(':') as [string, string];
  return Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: repository, digest: { [alg]: hex } }],
      predicateType: 'https://sigstore.dev/cosign/sign/v1',
      predicate: {},
    }),
  );
}

/** A Sigstore bundle (v0.3) of `statement` signed with a key, no log entry (`--tlog-upload=false`). */
export function keyBundle(statement: Buffer, sign: (data: Buffer) => Buffer): object {
  return {
    mediaType: BUNDLE_V03,
    verificationMaterial: { publicKey: { hint: '' }, tlogEntries: [] },
    dsseEnvelope: {
      payload: statement.toString('base64'),
      payloadType: IN_TOTO,
      signatures: [{ sig: sign(dssePae(IN_TOTO, statement)).toString('base64'), keyid: '' }],
    },
  };
}

/** The referrer manifest (and blobs) cosign stores a bundle as, its subject the image `subject`. */
export function bundleReferrerDocuments(subject: Descriptor, bundle: object): BuiltDocuments {
  const empty = Buffer.from('{}');
  const bytes = Buffer.from(JSON.stringify(bundle));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: BUNDLE_V03,
      config: descriptorOf(OCI_EMPTY, empty),
      layers: [descriptorOf(BUNDLE_V03, bytes)],
      subject,
      annotations: { 'dev.sigstore.bundle.content': 'dsse-envelope' },
    }),
  );
  return { digest: digestOf(manifest), manifest, blobs: [empty, bytes] };
}
