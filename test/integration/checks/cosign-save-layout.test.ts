/**
 * `cosign save` layouts: the image, its `.sig` and its `.att` manifests in index.json, named by a
 * `kind` annotation instead of a tag (cosign pkg/oci/layout). `imagegate check oci:DIR` finds the
 * signature and the attestation there as `imagegate check` does in the registry they came from.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { imagegate } from '../../helpers/cli.js';
import { pushLegacySignatures } from '../../helpers/cosign-push.js';
import { writePolicyFile } from '../../helpers/engine.js';
import { sha256 } from '../../helpers/memory-registry.js';
import { RegistrySeeder } from '../../helpers/registry-seeder.js';
import { useRegistry } from '../../helpers/use-registry.js';
import type { Seeder } from '../../helpers/seeder.js';
import { pushSignedImage, signingKey } from '../../helpers/signed-images.js';
import { signLegacyAttestationWithKey } from '../../helpers/test-sigstore.js';
import { useSuiteValue } from '../../helpers/suite-value.js';

const VULN = 'https://cosign.sigstore.dev/attestation/vuln/v1';
const KIND = {
  image: 'dev.cosignproject.cosign/image',
  sig: 'dev.cosignproject.cosign/sigs',
  att: 'dev.cosignproject.cosign/atts',
};

/** Everything pushed goes to the registry and into an OCI layout as `cosign save` writes it. */
class SaveSeeder implements Seeder {
  readonly manifests: { digest: string; size: number; tag?: string }[] = [];
  constructor(
    private readonly registry: Seeder,
    readonly dir: string,
  ) {}
  async putBlob(repo: string, bytes: Buffer): Promise<void> {
    await this.registry.putBlob(repo, bytes);
    await writeFile(join(this.dir, 'blobs', 'sha256', sha256(bytes).slice(7)), bytes);
  }
  async putManifest(repo: string, bytes: Buffer, tag?: string): Promise<string> {
    const digest = await this.registry.putManifest(repo, bytes, tag);
    await writeFile(join(this.dir, 'blobs', 'sha256', digest.slice(7)), bytes);
    this.manifests.push({ digest, size: bytes.byteLength, ...(tag !== undefined ? { tag } : {}) });
    return digest;
  }
  /** index.json: entries annotated by kind, no tags (cosign's layout.WriteSignedImage). */
  async save(image: string): Promise<void> {
    const kindOf = (m: { digest: string; tag?: string }): string | undefined =>
      m.digest === image
        ? KIND.image
        : m.tag?.endsWith('.sig')
          ? KIND.sig
          : m.tag?.endsWith('.att')
            ? KIND.att
            : undefined;
    const manifests = this.manifests.flatMap((m) => {
      const kind = kindOf(m);
      if (kind === undefined) return [];
      const mediaType = 'application/vnd.oci.image.manifest.v1+json';
      return [{ mediaType, digest: m.digest, size: m.size, annotations: { kind } }];
    });
    await writeFile(join(this.dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await writeFile(
      join(this.dir, 'index.json'),
      JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }),
    );
  }
}

describe('imagegate check on a cosign save layout', () => {
  const reg = useRegistry();
  const saved = useSuiteValue(
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'imagegate-cosign-save-'));
      await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
      const seeder = new SaveSeeder(new RegistrySeeder(reg), dir);
      const key = signingKey();
      const digest = await pushSignedImage(seeder, reg.host, 'team/app', key);
      await pushLegacySignatures(
        seeder,
        'team/app',
        digest,
        [signLegacyAttestationWithKey(key.sign, { digest, predicateType: VULN, predicate: { scanner: {} } })],
        'att',
      );
      await seeder.save(digest);
      const image = `${reg.host}/team/app@${digest}`;
      const authorities = [{ name: 'release', key: { pem: key.publicPem } }];
      const policy = await writePolicyFile(
        JSON.stringify({
          apiVersion: 'imagegate.dev/v1alpha1',
          kind: 'ImagePolicy',
          metadata: { name: 'signed-and-scanned' },
          spec: {
            mode: 'enforce',
            images: [{ glob: `${reg.host}/**` }, { glob: 'oci-layout/**' }],
            signature: { authorities },
            attestations: [{ name: 'scan', predicateType: 'vuln', authorities }],
          },
        }),
        'cosign-save.yaml',
      );
      return { dir, image, policy };
    },
    ({ dir }) => rm(dir, { recursive: true, force: true }),
  );

  const check = async (target: string) => {
    const r = await imagegate([
      'check',
      '--output',
      'json',
      '--policy',
      saved.policy,
      '--insecure-registry',
      reg.host,
      target,
    ]);
    const out = JSON.parse(r.stdout) as {
      images: { policies: { findings: { check: string; code: string; message: string }[] }[] }[];
    };
    const findings = out.images[0]!.policies[0]!.findings;
    return { exit: r.code, codes: Object.fromEntries(findings.map((f) => [f.check, f.code])), findings };
  };

  it('passes the image in the registry', async () => {
    const r = await check(saved.image);
    expect(r.codes, JSON.stringify(r.findings)).toMatchObject({ signature: 'OK', attestations: 'OK' });
    expect(r.exit).toBe(0);
  });

  it('passes the same image from the layout: signature and attestation found', async () => {
    const r = await check(`oci:${saved.dir}`);
    expect(r.codes, JSON.stringify(r.findings)).toMatchObject({ signature: 'OK', attestations: 'OK' });
    expect(r.exit).toBe(0);
  });

  it('passes it from the layout by digest too', async () => {
    const r = await check(`oci:${saved.dir}@${saved.image.slice(saved.image.indexOf('@') + 1)}`);
    expect(r.codes, JSON.stringify(r.findings)).toMatchObject({ signature: 'OK', attestations: 'OK' });
  });
});
