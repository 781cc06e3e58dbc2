/**
 * The third-party cosign legacy fixtures as table rows: how to seed them into a registry, which
 * policy to apply, and the expected outcome. Used by the in-memory and the real-registry suites.
 */
import { readFileSync } from 'node:fs';
import type { SignatureSpec } from '../../src/policy/policy.schema.js';
import {
  CONNAISSEUR,
  CONTAINERS_IMAGE,
  connaisseurSig,
  containersImageSig,
  type SigArtifact,
} from './cosign-fixtures.js';
import { sha256 } from './memory-registry.js';

export interface Seeder {
  putBlob(repo: string, bytes: Buffer): Promise<void>;
  /** Stores raw manifest bytes; returns the digest. */
  putManifest(repo: string, bytes: Buffer, tag?: string): Promise<string>;
}

export interface LegacyCase {
  name: string;
  /** Image manifest (raw bytes) and the `.sig` artifact stored for `sigFor` (default: its own digest). */
  image: () => Buffer;
  sig: () => SigArtifact;
  sigFor?: string;
  spec: () => SignatureSpec;
  expect: 'OK' | string;
  /** Substrings the finding message must contain. */
  messageHas?: string[];
}

const pemOf = (path: string): string => readFileSync(path, 'utf8');
const key = (name: string, path: string) => ({ name, key: { pem: pemOf(path) } });
const alice = () => key('alice', CONNAISSEUR('keys', 'alice.pub.pem'));
const bob = () => key('bob', CONNAISSEUR('keys', 'bob.pub.pem'));
const charlie = () => key('charlie', CONNAISSEUR('keys', 'charlie.pub.pem'));
const dflt = () => key('default', CONNAISSEUR('keys', 'default.pub.pem'));
const cosignPub = () => key('cosign', CONTAINERS_IMAGE('cosign.pub'));
const cosign2Pub = () => key('cosign2', CONTAINERS_IMAGE('cosign2.pub'));

const KEYLESS_DIGEST = 'sha256:31dc72a13a0c34b40eb95419d2b2fd67320c856baf3b72da518023ee8d370aee';
const ALICE_DIGEST = 'sha256:071bf7a986f1ca9cb2a1f0bc8392822a7777f90d58f2d2c6f271913e08de7c81';
const MULTI_DIGEST = 'sha256:bfec161fecb0a887df7cb85e4da327c65986ccda7060cf3cd92171c6c90d7533';
const VALID_DIGEST = 'sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00';

const conn = (f: string) => () => readFileSync(CONNAISSEUR('manifests', f));
const ci = (dir: string) => () => readFileSync(CONTAINERS_IMAGE(dir, 'manifest.json'));

export const LEGACY_CASES: LegacyCase[] = [
  {
    name: 'connaisseur keyless (Fulcio + Rekor SET + SCT) with the signer identity',
    image: conn('keyless.json'),
    sig: () => connaisseurSig(KEYLESS_DIGEST),
    spec: () => ({
      authorities: [
        {
          name: 'philipp',
          keyless: { issuer: 'https://github.com/login/oauth', subject: 'philipp.belitz@securesystems.de' },
        },
      ],
    }),
    expect: 'OK',
  },
  {
    name: 'connaisseur keyless with another subject',
    image: conn('keyless.json'),
    sig: () => connaisseurSig(KEYLESS_DIGEST),
    spec: () => ({
      authorities: [
        { name: 'ci', keyless: { issuer: 'https://github.com/login/oauth', subject: 'someone@example.com' } },
      ],
    }),
    expect: 'IDENTITY_MISMATCH',
    messageHas: [
      'no signature from authority "ci" verified',
      'by subject philipp.belitz@securesystems.de (wanted someone@example.com)',
    ],
  },
  {
    name: 'connaisseur keyless: subjectRegExp is anchored (a prefix pattern does not match a longer subject)',
    image: conn('keyless.json'),
    sig: () => connaisseurSig(KEYLESS_DIGEST),
    spec: () => ({
      authorities: [
        {
          name: 'ci',
          keyless: {
            issuer: 'https://github.com/login/oauth',
            subjectRegExp: 'philipp\\.belitz@securesystems',
          },
        },
      ],
    }),
    expect: 'IDENTITY_MISMATCH',
  },
  {
    name: 'connaisseur keyless: anchored subjectRegExp matching the whole subject',
    image: conn('keyless.json'),
    sig: () => connaisseurSig(KEYLESS_DIGEST),
    spec: () => ({
      authorities: [
        {
          keyless: { issuerRegExp: 'https://github\\.com/login/.*', subjectRegExp: '.*@securesystems\\.de' },
        },
      ],
    }),
    expect: 'OK',
  },
  {
    name: 'connaisseur keyless under a key authority',
    image: conn('keyless.json'),
    sig: () => connaisseurSig(KEYLESS_DIGEST),
    spec: () => ({ authorities: [alice()] }),
    expect: 'SIGNATURE_INVALID',
  },
  {
    name: 'connaisseur alice key signature',
    image: conn('multi-cosigned-alice.json'),
    sig: () => connaisseurSig(ALICE_DIGEST),
    spec: () => ({ authorities: [alice()] }),
    expect: 'OK',
  },
  {
    name: "connaisseur alice signature checked with bob's key (wrong key)",
    image: conn('multi-cosigned-alice.json'),
    sig: () => connaisseurSig(ALICE_DIGEST),
    spec: () => ({ authorities: [bob()] }),
    expect: 'SIGNATURE_INVALID',
    messageHas: ['not signed by key SHA256:'],
  },
  {
    name: 'connaisseur key signature when the policy requires a transparency log',
    image: conn('multi-cosigned-alice.json'),
    sig: () => connaisseurSig(ALICE_DIGEST),
    spec: () => ({ authorities: [alice()], transparencyLog: 'required' }),
    expect: 'TLOG_MISSING',
  },
  {
    name: 'connaisseur multi-signature: alice, bob and charlie, threshold 3',
    image: conn('multi-cosigned-alice-bob-charlie.json'),
    sig: () => connaisseurSig(MULTI_DIGEST),
    spec: () => ({ authorities: [alice(), bob(), charlie()], threshold: 3 }),
    expect: 'OK',
  },
  {
    name: 'connaisseur multi-signature: threshold 2 of alice and default is not met',
    image: conn('multi-cosigned-alice-bob-charlie.json'),
    sig: () => connaisseurSig(MULTI_DIGEST),
    spec: () => ({ authorities: [alice(), dflt()], threshold: 2 }),
    expect: 'THRESHOLD_NOT_MET',
  },
  {
    name: 'connaisseur signature stored for another image (payload digest swapped)',
    image: conn('multi-cosigned-alice-bob-charlie.json'),
    sig: () => connaisseurSig(ALICE_DIGEST),
    sigFor: MULTI_DIGEST,
    spec: () => ({ authorities: [alice()] }),
    expect: 'DIGEST_MISMATCH',
  },
  {
    name: 'containers/image key signature',
    image: ci('dir-img-cosign-valid'),
    sig: () => containersImageSig('dir-img-cosign-valid'),
    spec: () => ({ authorities: [cosignPub()] }),
    expect: 'OK',
  },
  {
    name: 'containers/image key signature, identity with a tag',
    image: ci('dir-img-cosign-valid-with-tag'),
    sig: () => containersImageSig('dir-img-cosign-valid-with-tag'),
    spec: () => ({ authorities: [cosignPub()] }),
    expect: 'OK',
  },
  {
    name: 'containers/image two signatures over the same payload',
    image: ci('dir-img-cosign-valid-2'),
    sig: () => containersImageSig('dir-img-cosign-valid-2'),
    spec: () => ({ authorities: [cosignPub()] }),
    expect: 'OK',
  },
  {
    name: 'containers/image key + Rekor SET, log required',
    image: ci('dir-img-cosign-key-rekor-valid'),
    sig: () => containersImageSig('dir-img-cosign-key-rekor-valid'),
    spec: () => ({ authorities: [cosign2Pub()], transparencyLog: 'required' }),
    expect: 'OK',
  },
  {
    name: 'containers/image Fulcio + Rekor keyless',
    image: ci('dir-img-cosign-fulcio-rekor-valid'),
    sig: () => containersImageSig('dir-img-cosign-fulcio-rekor-valid'),
    spec: () => ({
      authorities: [
        { name: 'mitr', keyless: { issuer: 'https://github.com/login/oauth', subject: 'mitr@redhat.com' } },
      ],
    }),
    expect: 'OK',
  },
  {
    name: 'containers/image BYO PKI via a custom trusted root (no log, verified at the current time)',
    image: ci('dir-img-cosign-pki-valid'),
    sig: () => containersImageSig('dir-img-cosign-pki-valid'),
    spec: () => ({
      authorities: [
        {
          name: 'team-a',
          keyless: { issuerRegExp: '.*', subject: 'qiwan@redhat.com', trustedRoot: 'linuxera' },
        },
      ],
      transparencyLog: 'optional',
    }),
    expect: 'OK',
  },
  {
    name: 'containers/image BYO PKI certificate against the public-good root',
    image: ci('dir-img-cosign-pki-valid'),
    sig: () => containersImageSig('dir-img-cosign-pki-valid'),
    spec: () => ({
      authorities: [{ keyless: { issuerRegExp: '.*', subject: 'qiwan@redhat.com' } }],
      transparencyLog: 'optional',
    }),
    expect: 'CERTIFICATE_INVALID',
  },
  {
    name: 'containers/image BYO PKI with the default (required) log',
    image: ci('dir-img-cosign-pki-valid'),
    sig: () => containersImageSig('dir-img-cosign-pki-valid'),
    spec: () => ({
      authorities: [
        { keyless: { issuerRegExp: '.*', subject: 'qiwan@redhat.com', trustedRoot: 'linuxera' } },
      ],
    }),
    expect: 'TLOG_MISSING',
  },
  {
    name: 'containers/image modified manifest',
    image: ci('dir-img-cosign-modified-manifest'),
    sig: () => containersImageSig('dir-img-cosign-modified-manifest'),
    spec: () => ({ authorities: [cosignPub()] }),
    expect: 'DIGEST_MISMATCH',
    messageHas: [`over digest ${VALID_DIGEST}`],
  },
  {
    name: 'containers/image other attachment (text/plain layer)',
    image: ci('dir-img-cosign-other-attachment'),
    sig: () => containersImageSig('dir-img-cosign-other-attachment'),
    spec: () => ({ authorities: [cosignPub()] }),
    expect: 'SIGNATURE_MALFORMED',
    messageHas: ['is not a cosign signature'],
  },
  {
    name: 'containers/image schema1 manifest whose digest differs from the signed one',
    image: ci('dir-img-cosign-manifest-digest-error'),
    sig: () => containersImageSig('dir-img-cosign-manifest-digest-error'),
    spec: () => ({ authorities: [cosignPub()] }),
    expect: 'DIGEST_MISMATCH',
  },
  {
    name: 'containers/image mixed: unknown key + valid signature',
    image: ci('dir-img-cosign-mixed'),
    sig: () => containersImageSig('dir-img-cosign-mixed'),
    spec: () => ({ authorities: [cosignPub()] }),
    expect: 'OK',
  },
  {
    name: 'containers/image valid signature under the wrong key',
    image: ci('dir-img-cosign-valid'),
    sig: () => containersImageSig('dir-img-cosign-valid'),
    spec: () => ({ authorities: [cosign2Pub()] }),
    expect: 'SIGNATURE_INVALID',
  },
];

/** Seeds one case; returns the image digest. */
export async function seedCase(s: Seeder, repo: string, c: LegacyCase): Promise<string> {
  const image = c.image();
  const digest = await s.putManifest(repo, image);
  const sig = c.sig();
  for (const b of sig.blobs.values()) await s.putBlob(repo, b);
  await s.putManifest(repo, sig.manifest, `${(c.sigFor ?? digest).replace(':', '-')}.sig`);
  if (digest !== sha256(image)) throw new Error('registry changed manifest bytes');
  return digest;
}
