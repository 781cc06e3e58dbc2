/**
 * `serve --warm-up`'s keyless signatures (src/cli/warm-up-keyless.ts) through the real server and a
 * real registry: an image it signs is admitted by a keyless authority trusting its throwaway root,
 * and denied when its log entry was tampered with or another root is trusted. So the warm-up's
 * keyless pods run the keyless path (chain, SET, identity), not a shortcut that admits anything.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Setup } from '../../src/cli/setup.js';
import {
  imageDocuments,
  legacySignatureDocuments,
  simpleSigningPayload,
  type BuiltDocuments,
} from '../../src/cli/signed-image-builder.js';
import {
  keylessSigner,
  WARM_UP_ISSUER,
  WARM_UP_SUBJECT,
  type KeylessSigner,
} from '../../src/cli/warm-up-keyless.js';
import { podReview } from '../helpers/admission-fixtures.js';
import { buildEngine, writePolicyFile } from '../helpers/engine.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { RegistrySeeder } from '../helpers/registry-seeder.js';
import { startServer, type TestServer } from '../helpers/server.js';

const policy = (host: string): string => `apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: { name: keyless }
spec:
  mode: enforce
  onError: deny
  images: [{ glob: "${host}/**" }]
  signature:
    authorities:
      - keyless: { issuer: "${WARM_UP_ISSUER}", subject: "${WARM_UP_SUBJECT}", trustedRoot: synthetic }
`;

describe('warm-up keyless signatures (a real registry, the real server)', () => {
  let registry: TestRegistry;
  let seeder: RegistrySeeder;
  let dir: string;
  let signer: KeylessSigner;
  let other: KeylessSigner;
  const refs: Record<string, string> = {};

  async function push(repo: string, docs: BuiltDocuments, tag: string): Promise<void> {
    for (const blob of docs.blobs) await seeder.putBlob(repo, blob);
    await seeder.putManifest(repo, docs.manifest, tag);
  }

  /** An image signed by `signer` (its `.sig` annotations passed through `edit`). */
  async function signed(
    repo: string,
    edit: (a: Record<string, string>) => Record<string, string> = (a) => a,
  ): Promise<string> {
    const image = imageDocuments({ os: 'linux', architecture: 'amd64', rootfs: { type: 'layers' } }, [
      Buffer.from(repo),
    ]);
    await push(repo, image, 'v1');
    const payload = simpleSigningPayload(`${registry.host}/${repo}`, image.digest);
    const s = await signer.sign(payload);
    const sig = legacySignatureDocuments(image.digest, payload, s.signature, edit(s.annotations));
    await push(repo, sig, sig.tag);
    return `${registry.host}/${repo}@${image.digest}`;
  }

  /** Serves the keyless policy trusting `root` and reviews `ref`. */
  async function review(root: object, ref: string): Promise<{ allowed: boolean; codes: string[] }> {
    const file = join(dir, `root-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(file, JSON.stringify(root));
    const setup: Setup = await buildEngine({
      policy: [await writePolicyFile(policy(registry.host))],
      insecureRegistry: [registry.host],
      trustedRoot: [`synthetic=${file}`],
    });
    const server: TestServer = await startServer({ engine: setup.engine });
    try {
      const res = await server.post('/validate?timeout=20s', podReview([ref]));
      const allowed = (res.json as { response: { allowed: boolean } }).response.allowed;
      const codes = server.audit
        .at(-1)!
        .images.flatMap((i) => i.policies.flatMap((p) => p.checks.map((c) => c.code)));
      return { allowed, codes };
    } finally {
      await server.close();
      await setup.registry.close();
    }
  }

  beforeAll(async () => {
    registry = await startRegistry();
    seeder = new RegistrySeeder(registry);
    dir = await mkdtemp(join(tmpdir(), 'imagegate-warm-keyless-'));
    [signer, other] = await Promise.all([keylessSigner(), keylessSigner()]);
    refs.good = await signed('keyless/good');
    // the log entry's time moved by a second: its signed entry timestamp no longer covers it
    refs.tamperedSet = await signed('keyless/tampered-set', (a) => {
      const bundle = JSON.parse(a['dev.sigstore.cosign/bundle']!) as { Payload: { integratedTime: number } };
      bundle.Payload.integratedTime += 1;
      return { ...a, 'dev.sigstore.cosign/bundle': JSON.stringify(bundle) };
    });
  }, 120_000);

  afterAll(async () => {
    await registry?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('admits an image it signed under a keyless authority trusting its root', async () => {
    expect(await review(signer.trustedRoot, refs.good!)).toEqual({ allowed: true, codes: ['OK'] });
  });

  it('denies the same image when another throwaway root is trusted: CERTIFICATE_INVALID', async () => {
    const r = await review(other.trustedRoot, refs.good!);
    expect(r).toEqual({ allowed: false, codes: ['CERTIFICATE_INVALID'] });
  });

  it('denies an image whose log entry no longer matches its signed entry timestamp: TLOG_INVALID', async () => {
    const r = await review(signer.trustedRoot, refs.tamperedSet!);
    expect(r).toEqual({ allowed: false, codes: ['TLOG_INVALID'] });
  });
});
