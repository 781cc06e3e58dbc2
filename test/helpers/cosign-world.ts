/**
 * The images of the cosign differential suite, signed and attested by the real cosign in the loopback
 * registry, one repository per cosign version × storage format, and the image × policy rows to compare
 * (test/integration/cosign-oracle.test.ts). Each row carries the verdict the scenario was built for:
 * cosign must give it too (else the set-up is wrong, not imagegate).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Cosign } from './cosign.js';
import { CosignTamper, type Storage } from './cosign-tamper.js';
import { PREDICATE_BODIES, type OracleKeys, type PredicateName } from './cosign-policies.js';
import { buildImage, buildIndex, pushImage, pushIndex, type BuiltImage } from './image-builder.js';
import type { TestRegistry } from './registry.js';

export type Verdict = 'accept' | 'reject';

/** How one cosign version writes (and, for verification, reads) one storage format. */
export interface SigningFormat {
  name: string;
  storage: Storage;
  /** Flags added to `sign` and `attest`. */
  write: string[];
  /** Flags added to `verify` and `verify-attestation`. */
  read: string[];
  /**
   * cosign writes signatures only in this format (`--registry-referrers-mode=oci-1-1` without bundles:
   * `attest` has no such mode): no attestation, multi-arch or tampering rows.
   */
  signaturesOnly?: true;
  /** For a bundle format: the flags that make this cosign write the legacy format instead. */
  legacyWrite?: string[];
  /** imagegate deliberately does not read this format: the reason (docs/signatures.md). */
  unsupported?: string;
}

export interface Row {
  version: string;
  format: string;
  image: string;
  ref: string;
  policy: string;
  expected: Verdict;
  /** Set when imagegate deliberately differs from cosign: the reason (docs/signatures.md). */
  deliberate?: { imagegate: Verdict; why: string };
}

interface Pushed {
  ref: string;
  digest: string;
  mediaType: string;
  size: number;
}

export const ATTESTATION_IS_NO_SIGNATURE =
  '`cosign verify` in the bundle format accepts any bundle the key signed, an attestation too; ' +
  'imagegate never counts an attestation as a signature (a signature policy wants a signature)';

export const BOTH_FORMATS_READ =
  'cosign reads only the bundles of a digest that has any; imagegate reads the legacy tags and the ' +
  'bundle referrers of every digest, so a valid legacy signature still counts';

export const REGISTRY_FLAGS = ['--allow-insecure-registry', '--allow-http-registry'];

let unique = 0;
function image(platform = 'linux/amd64'): BuiltImage {
  unique += 1;
  return buildImage({
    platform,
    steps: [{ createdBy: 'COPY id /', files: { id: `${process.pid}-${Date.now()}-${unique}` } }],
  });
}

export interface WorldKeys extends OracleKeys {
  a: OracleKeys['a'] & { key: string };
  b: OracleKeys['b'] & { key: string };
}

/** Builds every image of one version × format and returns its rows. */
export async function buildWorld(
  c: Cosign,
  registry: TestRegistry,
  format: SigningFormat,
  keys: WorldKeys,
): Promise<Row[]> {
  const repo = `oracle/${c.bin.version.replaceAll('.', '-')}-${format.name}`;
  const tamper = new CosignTamper(registry);
  const predicateFile = async (type: PredicateName) => {
    const file = join(c.home, `${type}.json`);
    await writeFile(file, JSON.stringify(PREDICATE_BODIES[type]));
    return file;
  };
  const push = async (tag: string, img = image()): Promise<Pushed> => {
    await pushImage(registry.url, repo, tag, img);
    const m = img.manifest;
    return {
      ref: `${registry.host}/${repo}@${m.digest}`,
      digest: m.digest,
      mediaType: m.mediaType,
      size: m.size,
    };
  };
  const sign = (p: Pushed, k: 'a' | 'b', extra: string[] = []) =>
    c.must([
      'sign',
      '--key',
      keys[k].key,
      '--tlog-upload=false',
      '-y',
      ...REGISTRY_FLAGS,
      ...format.write,
      ...extra,
      p.ref,
    ]);
  const attest = async (p: Pushed, k: 'a' | 'b', type: PredicateName) =>
    c.must([
      'attest',
      '--key',
      keys[k].key,
      '--tlog-upload=false',
      '-y',
      '--type',
      type,
      '--predicate',
      await predicateFile(type),
      ...REGISTRY_FLAGS,
      ...format.write,
      p.ref,
    ]);

  const rows: Row[] = [];
  const row = (
    name: string,
    p: Pushed,
    policy: string,
    expected: Verdict,
    deliberate?: Row['deliberate'],
  ) => {
    // An unsupported format: imagegate finds nothing there, so it rejects what cosign accepts.
    const unsupported =
      format.unsupported !== undefined && expected === 'accept'
        ? { imagegate: 'reject' as const, why: format.unsupported }
        : undefined;
    const differs = deliberate ?? unsupported;
    rows.push({
      version: c.bin.version,
      format: format.name,
      image: name,
      ref: p.ref,
      policy,
      expected,
      ...(differs ? { deliberate: differs } : {}),
    });
  };

  const signed = await push('signed');
  await sign(signed, 'a');
  row('signed by A', signed, 'sig-a', 'accept');
  row('signed by A', signed, 'sig-b', 'reject');
  row('signed by A', signed, 'sig-a-tlog', 'reject');
  row('signed by A', signed, 'att-slsa-a', 'reject');

  const unsigned = await push('unsigned');
  row('unsigned', unsigned, 'sig-a', 'reject');

  const rotated = await push('rotated');
  await sign(rotated, 'b');
  row('key rotated: signed by B only', rotated, 'sig-a', 'reject');
  row('key rotated: signed by B only', rotated, 'sig-b', 'accept');

  if (format.signaturesOnly === true) {
    // No row with two OCI 1.1 signature artifacts: cosign --experimental-oci11 reads only one of them
    // (which one varied between runs), so its verdict is not a stable oracle there.
    return rows;
  }

  const attestedOnly = await push('attested-only');
  await attest(attestedOnly, 'a', 'slsaprovenance1');
  if (format.storage === 'bundle') {
    // cosign reads every bundle signed by the key as a signature, an attestation's too.
    row('attested only (SLSA v1 by A)', attestedOnly, 'sig-a', 'accept', {
      imagegate: 'reject',
      why: ATTESTATION_IS_NO_SIGNATURE,
    });
  } else {
    row('attested only (SLSA v1 by A)', attestedOnly, 'sig-a', 'reject');
  }
  row('attested only (SLSA v1 by A)', attestedOnly, 'att-slsa-a', 'accept');
  row('attested only (SLSA v1 by A)', attestedOnly, 'att-slsa-b', 'reject');
  row('attested only (SLSA v1 by A)', attestedOnly, 'att-cdx-a', 'reject');

  const many = await push('many');
  await sign(many, 'a');
  await sign(many, 'b');
  for (const type of ['slsaprovenance1', 'cyclonedx', 'spdxjson', 'vuln'] as const)
    await attest(many, 'a', type);
  await attest(many, 'b', 'slsaprovenance1');
  const m = '2 signatures (A, B), 5 attestations';
  row(m, many, 'sig-a', 'accept');
  row(m, many, 'sig-b', 'accept');
  row(m, many, 'att-slsa-a', 'accept');
  row(m, many, 'att-slsa-b', 'accept');
  row(m, many, 'att-cdx-a', 'accept');
  row(m, many, 'att-cdx-b', 'reject');
  row(m, many, 'att-spdx-a', 'accept');
  row(m, many, 'att-vuln-a', 'accept');

  await multiArch();

  if (format.legacyWrite !== undefined) {
    // Both formats on one digest: cosign then reads only the bundles.
    const mixed = await push('mixed');
    await c.must([
      'sign',
      '--key',
      keys.a.key,
      '--tlog-upload=false',
      '-y',
      ...REGISTRY_FLAGS,
      ...format.legacyWrite,
      mixed.ref,
    ]);
    await sign(mixed, 'b');
    const name = 'legacy signature by A, bundle by B';
    row(name, mixed, 'sig-a', 'reject', { imagegate: 'accept', why: BOTH_FORMATS_READ });
    row(name, mixed, 'sig-b', 'accept');
  }

  // Tampering by someone who can push to the registry.
  const victim = await push('swap-victim');
  const donor = await push('swap-donor');
  await sign(victim, 'a');
  await sign(donor, 'a');
  await attest(victim, 'a', 'slsaprovenance1');
  await attest(donor, 'a', 'slsaprovenance1');
  await tamper.swapPayload(format.storage, 'sig', repo, victim.digest, donor.digest);
  await tamper.swapPayload(format.storage, 'att', repo, victim.digest, donor.digest);
  row('swapped payloads (signature and attestation)', victim, 'sig-a', 'reject');
  row('swapped payloads (signature and attestation)', victim, 'att-slsa-a', 'reject');
  row('donor of the swapped payloads', donor, 'sig-a', 'accept');

  const target = await push('moved-target');
  await tamper.move(format.storage, 'sig', repo, donor.digest, target);
  await tamper.move(format.storage, 'att', repo, donor.digest, target);
  row("another digest's signature and attestation moved here", target, 'sig-a', 'reject');
  row("another digest's signature and attestation moved here", target, 'att-slsa-a', 'reject');
  return rows;

  async function multiArch(): Promise<void> {
    const pushIdx = async (tag: string) => {
      const idx = buildIndex([image('linux/amd64'), image('linux/arm64')]);
      await pushIndex(registry.url, repo, tag, idx);
      const top: Pushed = {
        ref: `${registry.host}/${repo}@${idx.index.digest}`,
        digest: idx.index.digest,
        mediaType: idx.index.mediaType,
        size: idx.index.size,
      };
      const platforms = idx.images.map((i) => ({
        ref: `${registry.host}/${repo}@${i.manifest.digest}`,
        digest: i.manifest.digest,
        mediaType: i.manifest.mediaType,
        size: i.manifest.size,
      }));
      return { top, amd64: platforms[0] as Pushed, arm64: platforms[1] as Pushed };
    };
    const onIndex = await pushIdx('index-signed');
    await sign(onIndex.top, 'a');
    await attest(onIndex.top, 'a', 'slsaprovenance1');
    row('index signed and attested on the index: the index', onIndex.top, 'sig-a', 'accept');
    row('index signed and attested on the index: the index', onIndex.top, 'att-slsa-a', 'accept');
    row('index signed on the index: its amd64 manifest', onIndex.amd64, 'sig-a', 'reject');

    const recursive = await pushIdx('index-recursive');
    await sign(recursive.top, 'a', ['--recursive']);
    row('index signed --recursive: the index', recursive.top, 'sig-a', 'accept');
    row('index signed --recursive: its arm64 manifest', recursive.arm64, 'sig-a', 'accept');

    const perPlatform = await pushIdx('index-per-platform');
    await sign(perPlatform.amd64, 'a');
    await sign(perPlatform.arm64, 'a');
    row('index signed per platform only: its amd64 manifest', perPlatform.amd64, 'sig-a', 'accept');
    row('index signed per platform only: the index', perPlatform.top, 'sig-a', 'reject', {
      imagegate: 'accept',
      why:
        'imagegate verifies what a node pulls: the platform manifests the policy checks (`platforms`, ' +
        'default linux/amd64), each signed, suffice; cosign verifies the digest it is given',
    });
  }
}
