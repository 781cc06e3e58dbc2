/**
 * What an attacker with push access to the registry does to what the real cosign stored: swaps the
 * signed payload under a signature, moves a signature or attestation to another digest. Works on both
 * storage formats cosign writes: the legacy `sha256-<hex>.sig`/`.att` tags and Sigstore bundle
 * referrers (distribution 2.8 has no referrers API: the `sha256-<hex>` tag fallback index, which is
 * where cosign writes and reads them there).
 */
import { sha256 } from './memory-registry.js';
import type { TestRegistry } from './registry.js';
import { RegistrySeeder } from './registry-seeder.js';

const INDEX = 'application/vnd.oci.image.index.v1+json';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}
interface Manifest {
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export type Storage = 'legacy' | 'bundle';
export type Artifact = 'sig' | 'att';

export class CosignTamper {
  private readonly seeder: RegistrySeeder;

  constructor(private readonly registry: TestRegistry) {
    this.seeder = new RegistrySeeder(registry);
  }

  private async get(repo: string, what: 'manifests' | 'blobs', ref: string): Promise<Buffer> {
    const res = await fetch(`${this.registry.url}/v2/${repo}/${what}/${ref}`, {
      headers: { accept: `${INDEX}, ${MANIFEST}` },
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) throw new Error(`GET ${repo}/${what}/${ref}: HTTP ${res.status}`);
    return bytes;
  }

  private async manifest(repo: string, ref: string): Promise<Manifest> {
    return JSON.parse((await this.get(repo, 'manifests', ref)).toString('utf8')) as Manifest;
  }

  /** The bundle referrers of `digest` (from its tag fallback index) whose bundle is of `artifact` kind. */
  private async bundleReferrers(
    repo: string,
    digest: string,
    artifact: Artifact,
  ): Promise<Array<{ digest: string; manifest: Manifest }>> {
    const out: Array<{ digest: string; manifest: Manifest }> = [];
    for (const d of await this.fallbackIndex(repo, digest)) {
      // Not d.artifactType: cosign 2 (go-containerregistry) writes the config's type there.
      const manifest = await this.manifest(repo, d.digest);
      if (manifest.artifactType?.startsWith('application/vnd.dev.sigstore.bundle') !== true) continue;
      // The statement's type, not the manifest annotation: cosign 2 with a signing config annotates
      // an attestation's referrer as a signature (https://sigstore.dev/cosign/sign/v1).
      const type = await this.statementType(repo, manifest);
      if ((type === 'https://sigstore.dev/cosign/sign/v1') === (artifact === 'sig'))
        out.push({ digest: d.digest, manifest });
    }
    if (out.length === 0) throw new Error(`no ${artifact} bundle referrer for ${repo}@${digest}`);
    return out;
  }

  private async statementType(repo: string, manifest: Manifest): Promise<string | undefined> {
    const layer = manifest.layers[0];
    if (layer === undefined) return undefined;
    const bundle = JSON.parse((await this.get(repo, 'blobs', layer.digest)).toString('utf8')) as {
      dsseEnvelope?: { payload: string };
    };
    if (bundle.dsseEnvelope === undefined) return undefined;
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as {
      predicateType?: string;
    };
    return statement.predicateType;
  }

  private async fallbackIndex(repo: string, subject: string): Promise<Descriptor[]> {
    const res = await fetch(`${this.registry.url}/v2/${repo}/manifests/${subject.replace(':', '-')}`, {
      headers: { accept: INDEX },
    });
    if (res.status === 404) return (await res.arrayBuffer(), []);
    if (res.status !== 200) throw new Error(`referrers of ${subject}: HTTP ${res.status}`);
    return ((await res.json()) as { manifests: Descriptor[] }).manifests;
  }

  /** Rewrites the fallback index of `subject`: without the `drop` digests, with `add` appended. */
  private async writeReferrers(
    repo: string,
    subject: string,
    drop: string[],
    add: Manifest[],
  ): Promise<void> {
    const manifests = (await this.fallbackIndex(repo, subject)).filter((d) => !drop.includes(d.digest));
    for (const m of add) {
      const bytes = Buffer.from(JSON.stringify(m));
      await this.seeder.putManifest(repo, bytes);
      manifests.push({
        mediaType: MANIFEST,
        digest: sha256(bytes),
        size: bytes.byteLength,
        ...(m.artifactType !== undefined ? { artifactType: m.artifactType } : {}),
        ...(m.annotations !== undefined ? { annotations: m.annotations } : {}),
      });
    }
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests }));
    await this.seeder.putManifest(repo, index, subject.replace(':', '-'));
  }

  /**
   * The victim keeps its own signature (or attestation signature) but the signed content is the
   * donor's: the legacy layer's payload blob, or the bundle's DSSE payload.
   */
  async swapPayload(
    storage: Storage,
    artifact: Artifact,
    repo: string,
    victim: string,
    donor: string,
  ): Promise<void> {
    if (storage === 'legacy') {
      const tag = (d: string) => `${d.replace(':', '-')}.${artifact}`;
      const v = await this.manifest(repo, tag(victim));
      const d = await this.manifest(repo, tag(donor));
      const [vl, dl] = [v.layers[0], d.layers[0]];
      if (vl === undefined || dl === undefined) throw new Error('legacy artifact without layers');
      if (artifact === 'att') {
        // A DSSE envelope per layer: keep the victim's signatures, put the donor's statement inside.
        const envelope = JSON.parse((await this.get(repo, 'blobs', vl.digest)).toString('utf8')) as {
          payload: string;
        };
        const donorEnvelope = JSON.parse((await this.get(repo, 'blobs', dl.digest)).toString('utf8')) as {
          payload: string;
        };
        const bytes = Buffer.from(JSON.stringify({ ...envelope, payload: donorEnvelope.payload }));
        await this.seeder.putBlob(repo, bytes);
        v.layers[0] = { ...vl, digest: sha256(bytes), size: bytes.byteLength };
      } else {
        v.layers[0] = { ...vl, digest: dl.digest, size: dl.size };
      }
      await this.seeder.putManifest(repo, Buffer.from(JSON.stringify(v)), tag(victim));
      return;
    }
    // bundleReferrers throws when there is none: [0] exists.
    const found = (await this.bundleReferrers(repo, victim, artifact))[0]!;
    const d = (await this.bundleReferrers(repo, donor, artifact))[0]!.manifest;
    const v = found.manifest;
    if (v.layers[0] === undefined || d.layers[0] === undefined)
      throw new Error('bundle referrer without layers');
    type Bundle = { dsseEnvelope: { payload: string } };
    const bundle = JSON.parse((await this.get(repo, 'blobs', v.layers[0].digest)).toString('utf8')) as Bundle;
    const donorBundle = JSON.parse(
      (await this.get(repo, 'blobs', d.layers[0].digest)).toString('utf8'),
    ) as Bundle;
    bundle.dsseEnvelope.payload = donorBundle.dsseEnvelope.payload;
    const bytes = Buffer.from(JSON.stringify(bundle));
    await this.seeder.putBlob(repo, bytes);
    v.layers[0] = { ...v.layers[0], digest: sha256(bytes), size: bytes.byteLength };
    await this.writeReferrers(repo, victim, [found.digest], [v]);
  }

  /** Stores `from`'s signatures (or attestations), untouched, as `to`'s. */
  async move(
    storage: Storage,
    artifact: Artifact,
    repo: string,
    from: string,
    to: Descriptor,
  ): Promise<void> {
    if (storage === 'legacy') {
      const bytes = await this.get(repo, 'manifests', `${from.replace(':', '-')}.${artifact}`);
      await this.seeder.putManifest(repo, bytes, `${to.digest.replace(':', '-')}.${artifact}`);
      return;
    }
    const moved = (await this.bundleReferrers(repo, from, artifact)).map(({ manifest }) => ({
      ...manifest,
      subject: { mediaType: to.mediaType, digest: to.digest, size: to.size },
    }));
    await this.writeReferrers(repo, to.digest, [], moved);
  }
}
