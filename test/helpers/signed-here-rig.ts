/**
 * Signatures made by the tests (test/unit/checks/signature/signed-*.test.ts): a private test Sigstore
 * instance whose trusted_root.json is loaded like a user's (`--trusted-root test=FILE`), an in-memory
 * registry, and `verify`, which signs through `setup` and verifies one image with a policy section
 * (`verifyAndAttest` also reads the attestations, legacy `.att` tags included, as the base check does).
 */
import { beforeAll } from 'vitest';
import {
  compileSignatureVerifier,
  loadTrustedRoots,
  parseTrustedRootFlag,
  type SignatureVerdict,
  type TrustedRootStore,
  type VerifiedItem,
} from '../../src/checks/signature/index.js';
import type { SignatureSpec } from '../../src/checks/signature/schema.js';
import { parseReference } from '../../src/registry/reference.js';
import type { Seeder } from './seeder.js';
import { MemoryRegistry, sha256 } from './memory-registry.js';
import { signal, tempDir } from './signature-setup.js';
import { ACME, createTestInstance, type TestInstance } from './test-sigstore.js';
import { ociImageManifest } from './oci-manifest.js';

export const SLSA = 'https://slsa.dev/provenance/v1';
export const REPO = 'registry.imagegate.test/app';

export const keyless = (
  extra: Partial<SignatureSpec> = {},
  id: { subject?: string; subjectRegExp?: string } = {},
): SignatureSpec => ({
  authorities: [
    {
      name: 'ci',
      keyless: {
        issuer: ACME.issuer,
        ...(id.subjectRegExp !== undefined
          ? { subjectRegExp: id.subjectRegExp }
          : { subject: id.subject ?? ACME.subject }),
        trustedRoot: 'test',
      },
    },
  ],
  ...extra,
});

export function memory(): { reg: MemoryRegistry; seeder: Seeder } {
  const reg = new MemoryRegistry();
  return {
    reg,
    seeder: {
      putBlob: async (_r, b) => void reg.putBlob(b),
      putManifest: async (repo, b, tag) => reg.putManifest(repo, b, tag),
    },
  };
}

let imageCounter = 0;
export function imageManifest(): Buffer {
  imageCounter += 1;
  return ociImageManifest({ digest: sha256(`cfg${imageCounter}`), size: 4 });
}

export function useTestSigstore() {
  let state: { instance: TestInstance; roots: TrustedRootStore } | undefined;
  const current = (): { instance: TestInstance; roots: TrustedRootStore } => {
    if (state === undefined)
      throw new Error('the test Sigstore is not started yet (use it inside hooks and tests)');
    return state;
  };
  beforeAll(async () => {
    const instance = await createTestInstance(tempDir());
    const roots = await loadTrustedRoots({
      files: [parseTrustedRootFlag(`test=${instance.trustedRootPath}`)],
      offline: true,
    });
    state = { instance, roots };
  });

  async function prepare(spec: SignatureSpec, setup: (s: Seeder, digest: string) => Promise<void>) {
    const { reg, seeder } = memory();
    const digest = reg.putManifest(REPO, imageManifest());
    await setup(seeder, digest);
    const v = compileSignatureVerifier(spec, 'test', { trustedRoots: current().roots });
    return { reg, digest, v, ref: parseReference(`${REPO}@${digest}`) };
  }

  async function verify(spec: SignatureSpec, setup: (s: Seeder, digest: string) => Promise<void>) {
    const { reg, digest, v, ref } = await prepare(spec, setup);
    return v.verify(reg, ref, digest, signal());
  }

  /** `verify`, then the attestations the verdict rests on (what the base check asks for). */
  async function verifyAndAttest(
    spec: SignatureSpec,
    setup: (s: Seeder, digest: string) => Promise<void>,
  ): Promise<{ verdict: SignatureVerdict; attestations: VerifiedItem[] }> {
    const { reg, digest, v, ref } = await prepare(spec, setup);
    const verdict = await v.verify(reg, ref, digest, signal());
    return { verdict, attestations: await v.attestations(reg, ref, verdict, signal()) };
  }

  return {
    /** The repository every image of the rig is in. */
    repo: REPO,
    current,
    /** The test Sigstore (read inside hooks and tests). */
    get instance(): TestInstance {
      return current().instance;
    },
    /** Its trusted root as the checks load it (read inside hooks and tests). */
    get roots(): TrustedRootStore {
      return current().roots;
    },
    verify,
    verifyAndAttest,
  };
}
