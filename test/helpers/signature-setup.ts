/**
 * Shared set-up for signature tests: trusted roots loaded from files exactly as
 * `--trusted-root NAME=FILE` does (TUF is never contacted), and registry seeding of fixtures.
 */
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pem } from '@sigstore/core';
import { loadTrustedRoots, type TrustedRootStore } from '../../src/checks/signature/index.js';
import { parseReference, type ImageReference } from '../../src/registry/reference.js';
import type { SigArtifact } from './cosign-fixtures.js';
import { CONTAINERS_IMAGE, PUBLIC_GOOD_ROOT } from './cosign-fixtures.js';
import type { MemoryRegistry } from './memory-registry.js';

export function tempDir(prefix = 'imagegate-sig-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A TrustedRoot JSON with only certificate authorities (bring-your-own PKI, no logs). */
export function pkiTrustedRoot(chainPemsLeafmostFirst: string[]): object {
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [],
    ctlogs: [],
    timestampAuthorities: [],
    certificateAuthorities: [
      {
        subject: { organization: 'Linuxera', commonName: 'Linuxera Root Certificate Authority' },
        uri: 'https://pki.example.invalid',
        certChain: {
          certificates: chainPemsLeafmostFirst.map((p) => ({ rawBytes: pem.toDER(p).toString('base64') })),
        },
        validFor: { start: '2024-01-01T00:00:00Z' },
      },
    ],
  };
}

/** public-good (from root-signing fixture) plus the containers/image BYO PKI root as "linuxera". */
export async function fixtureRoots(extra: { name: string; path: string }[] = []): Promise<TrustedRootStore> {
  const dir = tempDir();
  const pkiPath = join(dir, 'linuxera.json');
  writeFileSync(
    pkiPath,
    JSON.stringify(
      pkiTrustedRoot([
        readFileSync(CONTAINERS_IMAGE('pki_intermediate_crts.pem'), 'utf8'),
        readFileSync(CONTAINERS_IMAGE('pki_root_crts.pem'), 'utf8'),
      ]),
    ),
  );
  return loadTrustedRoots({
    files: [{ name: 'public-good', path: PUBLIC_GOOD_ROOT() }, { name: 'linuxera', path: pkiPath }, ...extra],
    offline: true,
  });
}

/** Puts a signed image manifest and its legacy `.sig` artifact into a memory registry. */
export function seedLegacy(
  reg: MemoryRegistry,
  repo: string,
  imageManifest: Buffer,
  sig: SigArtifact,
  sigFor?: string,
): { ref: ImageReference; digest: string } {
  const digest = reg.putManifest(repo, imageManifest);
  for (const b of sig.blobs.values()) reg.putBlob(b);
  reg.putManifest(repo, sig.manifest, `${(sigFor ?? digest).replace(':', '-')}.sig`);
  return { ref: parseReference(`${repo}@${digest}`), digest };
}

export function signal(): AbortSignal {
  return AbortSignal.timeout(20_000);
}
