/**
 * The second half of `serve --warm-up`: the signature verification itself, run in-process until
 * V8 has optimised it. A verification's first calls cost 10–20 × a hot one (docs/benchmarks.md,
 * "a hot signature path at readiness": JIT tier-up, not cryptography), and the warm-up pods review
 * too few images to get there. So the same functions a review calls for a cold image's signatures
 * (the compiled verifier's `verifyOwn`: fetchCandidates reading the `.sig` tag or the bundle
 * referrer, the legacy → bundle conversion or the bundle JSON, sigstore-js's chain, SCT, SET,
 * inclusion proof and checkpoint checks, ECDSA, the identity, the signed payload) run over the
 * warm-up's own throwaway-signed images, key and keyless, `.sig` and bundle, read from memory through
 * a RegistryAccess of this file (no registry, no socket). The verifier is compiled here, over the
 * warm-up engine's trust store (its throwaway root only), without a verdict cache: nothing is shared
 * with the serving engine, no audit record is made. Bounded by a count and a deadline.
 */
import { RegistryError } from '../errors.js';
import {
  compileSignatureVerifier,
  type SignatureSpec,
  type TrustedRootStore,
} from '../checks/signature/index.js';
import { parseManifest } from '../registry/content.js';
import { DEFAULT_LIMITS } from '../registry/limits.js';
import type { ImageReference } from '../registry/reference.js';
import type { Descriptor, FetchedManifest, RegistryAccess } from '../registry/types.js';
import {
  BUNDLE_V03,
  bundleReferrerDocuments,
  cosignSignStatement,
  digestOf,
  imageDocuments,
  keyBundle,
  legacySignatureDocuments,
  OCI_MANIFEST,
  simpleSigningPayload,
  type BuiltDocuments,
} from './signed-image-builder.js';
import type { KeylessSigner } from './warm-up-keyless.js';

/** The four ways an image is signed, each its own code path in verification. */
export type SignatureForm = 'key-sig' | 'key-bundle' | 'keyless-sig' | 'keyless-bundle';

export interface HotVerification {
  /** Verifications that ran and passed, per form. */
  verified: Partial<Record<SignatureForm, number>>;
  ms: number;
  /** Why it stopped before `rounds` when time ran out (not a failure: readiness proceeds). */
  stopped?: string;
  /** A verification that did not pass (a defect: the warm-up reports it). */
  problem?: string;
}

export interface HotVerificationOptions {
  /** Verifications per form (each form in turn, one each per round). */
  rounds: number;
  /** performance.now() after which no new round starts. */
  deadline: number;
  /** The warm-up's key, as its policy names it. */
  keyPem: string;
  signWithKey: (data: Buffer) => Buffer;
  /** With keyless forms (a loaded policy names a keyless authority). */
  keyless?: { signer: KeylessSigner; authority: { issuer: string; subject: string; trustedRoot: string } };
  /** The warm-up engine's trust store: its throwaway root, nothing the operator configured. */
  trustedRoots: TrustedRootStore;
  /** Told after each round (its index): how bench/ measures the per-round cost falling. */
  onRound?: (round: number) => void;
}

/** Distinct signed images per form: each verification parses its bytes afresh, as for a new image. */
const DISTINCT = 4;
const HOST = 'warm-up.imagegate.invalid';

/** Registry content held in memory: manifests by `repo@ref`, blobs by digest, referrers by subject. */
class MemoryRegistry implements RegistryAccess {
  readonly manifests = new Map<string, Buffer>();
  readonly blobs = new Map<string, Buffer>();
  readonly referrers = new Map<string, Descriptor[]>();

  put(repo: string, ref: string, doc: BuiltDocuments): void {
    this.manifests.set(`${repo}@${ref}`, doc.manifest);
    for (const b of doc.blobs) this.blobs.set(digestOf(b), b);
  }

  resolve(): never {
    throw new RegistryError('MANIFEST_UNKNOWN', 'the warm-up verifies by digest only');
  }

  async getManifest(ref: ImageReference, tagOrDigest: string): Promise<FetchedManifest> {
    const bytes = this.manifests.get(`${ref.repository}@${tagOrDigest}`);
    if (bytes === undefined)
      throw new RegistryError('MANIFEST_UNKNOWN', `${tagOrDigest}: not in the warm-up`);
    // the registry client's own parser: the verifier meets the very shapes a review gives it
    return parseManifest(bytes, digestOf(bytes), OCI_MANIFEST, tagOrDigest, DEFAULT_LIMITS);
  }

  findTag(ref: ImageReference, tag: string): Promise<FetchedManifest | undefined> {
    if (!this.manifests.has(`${ref.repository}@${tag}`)) return Promise.resolve(undefined);
    return this.getManifest(ref, tag);
  }

  getBlob(_ref: ImageReference, descriptor: Descriptor): Promise<Uint8Array> {
    const blob = this.blobs.get(descriptor.digest);
    if (blob === undefined) return Promise.reject(new RegistryError('BLOB_UNKNOWN', descriptor.digest));
    return Promise.resolve(blob);
  }

  getReferrers(ref: ImageReference, digest: string): Promise<Descriptor[]> {
    return Promise.resolve(this.referrers.get(`${ref.repository}@${digest}`) ?? []);
  }
}

interface Target {
  form: SignatureForm;
  reference: ImageReference;
  digest: string;
}

/** One image of `form`, signed, stored in `registry`. */
async function signedTarget(
  registry: MemoryRegistry,
  form: SignatureForm,
  i: number,
  options: HotVerificationOptions,
): Promise<Target> {
  const repository = `warm-up/${form}/v${i}`;
  const image = imageDocuments({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' } }, [
    Buffer.from(`imagegate warm-up ${repository}`),
  ]);
  registry.put(repository, image.digest, image);
  const name = `${HOST}/${repository}`;
  const keyless = options.keyless?.signer;
  if (form === 'key-sig' || form === 'keyless-sig') {
    const payload = simpleSigningPayload(name, image.digest);
    const signed: { signature: Buffer; annotations?: Record<string, string> } =
      form === 'key-sig' ? { signature: options.signWithKey(payload) } : await keyless!.sign(payload);
    const sig = legacySignatureDocuments(image.digest, payload, signed.signature, signed.annotations);
    registry.put(repository, sig.tag, sig);
  } else {
    const statement = cosignSignStatement(name, image.digest);
    const bundle =
      form === 'key-bundle'
        ? keyBundle(statement, options.signWithKey)
        : await keyless!.signBundle(statement);
    const subject = { mediaType: OCI_MANIFEST, digest: image.digest, size: image.manifest.byteLength };
    const referrer = bundleReferrerDocuments(subject, bundle);
    registry.put(repository, referrer.digest, referrer);
    registry.referrers.set(`${repository}@${image.digest}`, [
      {
        mediaType: OCI_MANIFEST,
        digest: referrer.digest,
        size: referrer.manifest.byteLength,
        artifactType: BUNDLE_V03,
      },
    ]);
  }
  const reference = { registry: HOST, repository, digest: image.digest, original: `${name}@${image.digest}` };
  return { form, reference, digest: image.digest };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Verifies the warm-up's own signatures `rounds` times per form, or until the deadline. */
export async function warmVerification(options: HotVerificationOptions): Promise<HotVerification> {
  const started = performance.now();
  const verified: Partial<Record<SignatureForm, number>> = {};
  const done = (end: { problem?: string; stopped?: string } = {}): HotVerification => ({
    verified,
    ms: performance.now() - started,
    ...end,
  });
  const forms: SignatureForm[] = ['key-sig', 'key-bundle'];
  if (options.keyless !== undefined) forms.push('keyless-sig', 'keyless-bundle');
  const registry = new MemoryRegistry();
  const targets: Target[] = [];
  for (let i = 0; i < DISTINCT; i++)
    for (const form of forms) targets.push(await signedTarget(registry, form, i, options));
  const spec = (form: SignatureForm): SignatureSpec => ({
    authorities: [
      form.startsWith('keyless')
        ? { name: 'warm-up-keyless', keyless: options.keyless!.authority }
        : { name: 'warm-up', key: { pem: options.keyPem } },
    ],
  });
  const deps = { trustedRoots: options.trustedRoots }; // no verdict cache: every round verifies
  const keyVerifier = compileSignatureVerifier(spec('key-sig'), 'warm-up', deps);
  const keylessVerifier =
    options.keyless !== undefined
      ? compileSignatureVerifier(spec('keyless-sig'), 'warm-up', deps)
      : undefined;
  const signal = new AbortController().signal;
  for (let round = 0; round < options.rounds; round++) {
    if (performance.now() > options.deadline)
      return done({ stopped: `at the deadline after ${round} rounds` });
    for (let f = 0; f < forms.length; f++) {
      const target = targets[(round % DISTINCT) * forms.length + f]!;
      const verifier = target.form.startsWith('keyless') ? keylessVerifier! : keyVerifier;
      const verdict = await verifier.verify(registry, target.reference, target.digest, signal);
      if (!verdict.passed)
        return done({ problem: `${target.form} verification did not pass: ${verdict.message}` });
      verified[target.form] = (verified[target.form] ?? 0) + 1;
    }
    options.onRound?.(round);
    await turn(); // timers (the warm-up's bound) and /healthz between rounds
  }
  return done();
}
