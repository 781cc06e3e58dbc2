/**
 * `serve --warm-up`'s in-process verifications (src/cli/warm-up-verify.ts): every signature form a
 * loaded policy may meet is verified, really (another root's trust store rejects the same material),
 * as many times as asked; and the throwaway trust they run on is trusted nowhere else: after the
 * warm-up, a pod signed by the warm-up's own CA and log, under the warm-up's identity, is denied by
 * the real server of this process, whose policy trusts another root.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  imageDocuments,
  legacySignatureDocuments,
  simpleSigningPayload,
} from '../../src/cli/signed-image-builder.js';
import { warmUp } from '../../src/cli/warm-up.js';
import {
  keylessSigner,
  WARM_UP_ISSUER,
  WARM_UP_ROOT,
  WARM_UP_SUBJECT,
  type KeylessSigner,
} from '../../src/cli/warm-up-keyless.js';
import { warmVerification } from '../../src/cli/warm-up-verify.js';
import { podReview } from '../helpers/admission-fixtures.js';
import { buildEngine, writePolicyFile } from '../helpers/engine.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { RegistrySeeder } from '../helpers/registry-seeder.js';
import { startServer } from '../helpers/server.js';

const keylessPolicy = (host: string, root: string): string => `apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: { name: keyless }
spec:
  mode: enforce
  onError: deny
  images: [{ glob: "${host}/**" }]
  signature:
    authorities:
      - keyless: { issuer: "${WARM_UP_ISSUER}", subject: "${WARM_UP_SUBJECT}", trustedRoot: ${root} }
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imagegate-warm-verify-'));
});
afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** A trust store holding `signer`'s root under `name` (an engine's, as setupEngine loads it). */
async function storeOf(signer: KeylessSigner, name: string) {
  const file = join(dir, `${name}-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, JSON.stringify(signer.trustedRoot));
  const setup = await buildEngine({ trustedRoot: [`${name}=${file}`] });
  await setup.registry.close();
  return setup.trustedRoots;
}

describe('warmVerification (in-process, the functions a review calls)', () => {
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const base = {
    deadline: Number.POSITIVE_INFINITY,
    keyPem: key.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    signWithKey: (data: Buffer) => sign('sha256', data, key.privateKey),
  };
  const authority = { issuer: WARM_UP_ISSUER, subject: WARM_UP_SUBJECT, trustedRoot: WARM_UP_ROOT };

  it('verifies each of the four forms once per round, and counts them', async () => {
    const signer = await keylessSigner();
    const rounds: number[] = [];
    const r = await warmVerification({
      ...base,
      rounds: 6,
      keyless: { signer, authority },
      trustedRoots: await storeOf(signer, WARM_UP_ROOT),
      onRound: (n) => rounds.push(n),
    });
    expect(r.problem).toBeUndefined();
    expect(r.verified).toEqual({ 'key-sig': 6, 'key-bundle': 6, 'keyless-sig': 6, 'keyless-bundle': 6 });
    expect(rounds).toEqual([0, 1, 2, 3, 4, 5]);
  }, 60_000);

  it('only the key forms without keyless', async () => {
    const signer = await keylessSigner();
    const r = await warmVerification({
      ...base,
      rounds: 3,
      trustedRoots: await storeOf(signer, WARM_UP_ROOT),
    });
    expect(r.verified).toEqual({ 'key-sig': 3, 'key-bundle': 3 });
  }, 60_000);

  it('really verifies: under another throwaway root the keyless forms fail (CERTIFICATE_INVALID)', async () => {
    const [signer, other] = await Promise.all([keylessSigner(), keylessSigner()]);
    const r = await warmVerification({
      ...base,
      rounds: 2,
      keyless: { signer, authority },
      trustedRoots: await storeOf(other, WARM_UP_ROOT),
    });
    expect(r.verified).toEqual({ 'key-sig': 1, 'key-bundle': 1 });
    expect(r.problem).toMatch(/^keyless-sig verification did not pass: .*untrusted certificate/);
  }, 60_000);

  it('verifies the leaf’s SCT: with another CT log’s key in the root, the keyless forms fail', async () => {
    const [signer, other] = await Promise.all([keylessSigner(), keylessSigner()]);
    const ctlogs = (other.trustedRoot as { ctlogs: unknown }).ctlogs;
    const r = await warmVerification({
      ...base,
      rounds: 2,
      keyless: { signer, authority },
      trustedRoots: await storeOf(
        { ...signer, trustedRoot: { ...signer.trustedRoot, ctlogs } },
        WARM_UP_ROOT,
      ),
    });
    expect(r.verified).toEqual({ 'key-sig': 1, 'key-bundle': 1 });
    expect(r.problem).toMatch(/^keyless-sig verification did not pass: .*SCT/);
  }, 60_000);

  it('stops at the deadline, reported as stopped, not as a problem', async () => {
    const signer = await keylessSigner();
    const r = await warmVerification({
      ...base,
      rounds: 1000,
      deadline: performance.now() - 1,
      trustedRoots: await storeOf(signer, WARM_UP_ROOT),
    });
    expect(r).toMatchObject({ verified: {}, stopped: 'at the deadline after 0 rounds' });
    expect(r.problem).toBeUndefined();
  }, 60_000);
});

describe('serve --warm-up’s throwaway trust is trusted nowhere else (a real registry, the real server)', () => {
  let registry: TestRegistry;
  afterAll(async () => registry?.stop());

  it('after the warm-up verified with its CA, a pod signed by that CA is denied by the serving engine', async () => {
    registry = await startRegistry();
    const seeder = new RegistrySeeder(registry);
    const signer = await keylessSigner();
    const warmed = await warmUp({
      pods: 1,
      imagesPerPod: 1,
      keyless: true,
      keylessSigner: signer,
      verifyRounds: 5,
    });
    expect(warmed).toMatchObject({ ok: true, keylessPods: 1 });
    expect(warmed.verified).toEqual({ 'key-sig': 5, 'key-bundle': 5, 'keyless-sig': 5, 'keyless-bundle': 5 });

    // an image signed by the very CA and log the warm-up trusted, under its identity
    const repo = 'warm-up/escaped';
    const image = imageDocuments({ os: 'linux', architecture: 'amd64', rootfs: { type: 'layers' } }, [
      Buffer.from(repo),
    ]);
    for (const blob of image.blobs) await seeder.putBlob(repo, blob);
    await seeder.putManifest(repo, image.manifest, 'v1');
    const payload = simpleSigningPayload(`${registry.host}/${repo}`, image.digest);
    const s = await signer.sign(payload);
    const sig = legacySignatureDocuments(image.digest, payload, s.signature, s.annotations);
    for (const blob of sig.blobs) await seeder.putBlob(repo, blob);
    await seeder.putManifest(repo, sig.manifest, sig.tag);
    const ref = `${registry.host}/${repo}@${image.digest}`;

    const review = async (root: KeylessSigner, name: string) => {
      const file = join(dir, `serving-${name}.json`);
      await writeFile(file, JSON.stringify(root.trustedRoot));
      const setup = await buildEngine({
        policy: [await writePolicyFile(keylessPolicy(registry.host, name))],
        insecureRegistry: [registry.host],
        trustedRoot: [`${name}=${file}`],
      });
      const server = await startServer({ engine: setup.engine });
      try {
        const res = await server.post('/validate?timeout=20s', podReview([ref]));
        const codes = server.audit
          .at(-1)!
          .images.flatMap((i) => i.policies.flatMap((p) => p.checks.map((c) => c.code)));
        return { allowed: (res.json as { response: { allowed: boolean } }).response.allowed, codes };
      } finally {
        await server.close();
        await setup.registry.close();
      }
    };
    // the operator's root (any other): denied, though the same process verified this CA's signatures
    expect(await review(await keylessSigner(), 'operator')).toEqual({
      allowed: false,
      codes: ['CERTIFICATE_INVALID'],
    });
    // the control: the pod is well signed, admitted only where the warm-up's root is configured
    expect(await review(signer, WARM_UP_ROOT)).toEqual({ allowed: true, codes: ['OK'] });
  }, 120_000);
});
