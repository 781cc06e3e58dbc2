/**
 * The cosign differential suite's rows with a transparency log, keyless certificates and RFC 3161
 * timestamps, all from the loopback Sigstore (local-sigstore.ts): cosign signs and attests with a
 * Rekor v1 or v2, a Fulcio and a TSA on 127.0.0.1 (flags or `--signing-config`), and both sides verify
 * against that instance's trusted root only (cosign `--trusted-root`, imagegate
 * `--trusted-root loopback=FILE` with `trustedRoot: loopback` in the policies).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Cosign } from './cosign.js';
import { namespacedPolicyYaml, PREDICATE_BODIES, PREDICATES } from './cosign-policies.js';
import { CosignTamper, type Storage } from './cosign-tamper.js';
import { ATTESTATION_IS_NO_SIGNATURE, REGISTRY_FLAGS, type Row, type Verdict } from './cosign-world.js';
import { buildImage, pushImage } from './image-builder.js';
import type { LocalSigstore } from './local-sigstore.js';
import type { TestRegistry } from './registry.js';

export const ISSUER = 'https://issuer.imagegate.test';
export const SUBJECT = 'https://ci.imagegate.test/acme/app/.github/workflows/release.yml@refs/heads/main';
export const TRUSTED_ROOT_NAME = 'loopback';

export interface TlogFormat {
  name: string;
  storage: Storage;
  signer: 'key' | 'keyless';
  /** Flags for `sign` and `attest` (besides the key or identity token). */
  write(s: LocalSigstore): string[];
  /** No transparency log entry is made (TSA only): `write` says how. */
  noLog?: true;
  /** imagegate deliberately differs on these policies' rows: the reason (docs/signatures.md). */
  differs?: { policies: string[]; imagegate: Verdict; why: string };
}

const tsaUrl = (s: LocalSigstore) => `${s.url}/api/v1/timestamp`;
/** A bundle-format row of cosign 3 that takes everything from the signing config `config` names. */
const configured = (
  name: string,
  signer: TlogFormat['signer'],
  config: 'signingConfig' | 'signingConfigRekorV2',
): TlogFormat => ({ name, storage: 'bundle', signer, write: (s) => ['--signing-config', s[config]] });

export const COSIGN2_REKOR_V2 =
  'cosign 2 signs with a Rekor v2 signing config but cannot verify what it wrote (keyless: "threshold not ' +
  'met for verified log entry integrated timestamps": Rekor v2 records none, cosign 2 ignores the TSA ' +
  "time there); imagegate takes the signing time from the bundle's RFC 3161 timestamp";

/** What each cosign version writes with a log, a Fulcio or a TSA. */
export function tlogFormatsOf(major: number): TlogFormat[] {
  if (major === 2) {
    return [
      { name: 'legacy+rekor', storage: 'legacy', signer: 'key', write: (s) => ['--rekor-url', s.url] },
      {
        name: 'bundle+config',
        storage: 'bundle',
        signer: 'key',
        write: (s) => ['--new-bundle-format', '--signing-config', s.signingConfig],
      },
      {
        name: 'keyless-legacy',
        storage: 'legacy',
        signer: 'keyless',
        write: (s) => ['--fulcio-url', s.url, '--rekor-url', s.url],
      },
      {
        name: 'keyless-legacy+tsa',
        storage: 'legacy',
        signer: 'keyless',
        write: (s) => ['--fulcio-url', s.url, '--rekor-url', s.url, '--timestamp-server-url', tsaUrl(s)],
      },
      {
        name: 'keyless-legacy tsa-only',
        storage: 'legacy',
        signer: 'keyless',
        noLog: true,
        write: (s) => ['--fulcio-url', s.url, '--tlog-upload=false', '--timestamp-server-url', tsaUrl(s)],
      },
      {
        name: 'keyless-bundle+config',
        storage: 'bundle',
        signer: 'keyless',
        write: (s) => ['--new-bundle-format', '--signing-config', s.signingConfig],
      },
      {
        name: 'keyless-bundle+rekor-v2',
        storage: 'bundle',
        signer: 'keyless',
        write: (s) => ['--new-bundle-format', '--signing-config', s.signingConfigRekorV2],
        differs: { policies: ['ci', 'att-ci'], imagegate: 'accept', why: COSIGN2_REKOR_V2 },
      },
    ];
  }
  const old = ['--new-bundle-format=false', '--use-signing-config=false'];
  return [
    // cosign 3's default: a bundle referrer, a Rekor entry and a timestamp as the signing config says.
    configured('default', 'key', 'signingConfig'),
    configured('keyless-default', 'keyless', 'signingConfig'),
    configured('rekor-v2', 'key', 'signingConfigRekorV2'),
    configured('keyless-rekor-v2', 'keyless', 'signingConfigRekorV2'),
    {
      name: 'keyless-tsa-only',
      storage: 'bundle',
      signer: 'keyless',
      noLog: true,
      write: (s) => ['--signing-config', s.signingConfigNoTlog],
    },
    { name: 'legacy+rekor', storage: 'legacy', signer: 'key', write: (s) => [...old, '--rekor-url', s.url] },
    {
      name: 'keyless-legacy+tsa',
      storage: 'legacy',
      signer: 'keyless',
      write: (s) => [
        ...old,
        '--fulcio-url',
        s.url,
        '--rekor-url',
        s.url,
        '--timestamp-server-url',
        tsaUrl(s),
      ],
    },
  ];
}

export interface TlogKeys {
  a: { key: string; pub: string; publicPem: string };
  b: { key: string; pub: string; publicPem: string };
}

interface TlogPolicy {
  name: string;
  spec(keys: TlogKeys): Record<string, unknown>;
  cosign(keys: TlogKeys): string[];
}

const key = (pem: string) => ({ name: 'key', key: { pem, trustedRoot: TRUSTED_ROOT_NAME } });
const keyless = (issuer = ISSUER, subject = SUBJECT) => ({
  name: 'ci',
  keyless: { issuer, subject, trustedRoot: TRUSTED_ROOT_NAME },
});
const identity = (issuer = ISSUER, subject = SUBJECT) => [
  '--certificate-identity',
  subject,
  '--certificate-oidc-issuer',
  issuer,
];

/** Each policy with the cosign verification that asks the same question. */
export const TLOG_POLICIES: readonly TlogPolicy[] = [
  {
    name: 'key-a-log',
    spec: (k) => ({ signature: { authorities: [key(k.a.publicPem)], transparencyLog: 'required' } }),
    cosign: (k) => ['verify', '--key', k.a.pub],
  },
  {
    name: 'key-b-log',
    spec: (k) => ({ signature: { authorities: [key(k.b.publicPem)], transparencyLog: 'required' } }),
    cosign: (k) => ['verify', '--key', k.b.pub],
  },
  {
    name: 'att-key-a-log',
    spec: (k) => ({
      attestations: [
        {
          name: 'slsa',
          predicateType: PREDICATES.slsaprovenance1,
          authorities: [key(k.a.publicPem)],
          transparencyLog: 'required',
        },
      ],
    }),
    cosign: (k) => ['verify-attestation', '--key', k.a.pub, '--type', 'slsaprovenance1'],
  },
  {
    name: 'ci',
    spec: () => ({ signature: { authorities: [keyless()], transparencyLog: 'required' } }),
    cosign: () => ['verify', ...identity()],
  },
  {
    name: 'ci-nolog',
    spec: () => ({ signature: { authorities: [keyless()], transparencyLog: 'optional' } }),
    cosign: () => ['verify', '--insecure-ignore-tlog', ...identity()],
  },
  {
    name: 'ci-other-subject',
    spec: () => ({ signature: { authorities: [keyless(ISSUER, `${SUBJECT}.evil`)] } }),
    cosign: () => ['verify', ...identity(ISSUER, `${SUBJECT}.evil`)],
  },
  {
    name: 'ci-other-issuer',
    spec: () => ({ signature: { authorities: [keyless('https://token.actions.githubusercontent.com')] } }),
    cosign: () => ['verify', ...identity('https://token.actions.githubusercontent.com')],
  },
  {
    name: 'att-ci',
    spec: () => ({
      attestations: [
        {
          name: 'slsa',
          predicateType: PREDICATES.slsaprovenance1,
          authorities: [keyless()],
          transparencyLog: 'required',
        },
      ],
    }),
    cosign: () => ['verify-attestation', ...identity(), '--type', 'slsaprovenance1'],
  },
];

export function tlogPolicy(name: string): TlogPolicy {
  const p = TLOG_POLICIES.find((x) => x.name === name);
  if (p === undefined) throw new Error(`no tlog policy ${name}`);
  return p;
}

/**
 * How cosign is told to trust the loopback instance for one row: `--trusted-root`, except that
 * cosign 2's `verify-attestation` reads a trusted root only for bundles ("trusted root path currently
 * only supported with --new-bundle-format"): for legacy attestations it gets the same keys and
 * certificates through SIGSTORE_* variables and `--timestamp-certificate-chain`.
 */
export function cosignVerification(
  c: Cosign,
  format: TlogFormat,
  row: Row,
  keys: TlogKeys,
  sigstore: LocalSigstore,
): { args: string[]; env?: Record<string, string> } {
  const [command = '', ...rest] = tlogPolicy(row.policy).cosign(keys);
  const tail = [...REGISTRY_FLAGS, row.ref];
  if (c.bin.major === 2 && format.storage === 'legacy' && command === 'verify-attestation')
    return {
      args: [command, '--timestamp-certificate-chain', sigstore.tsaChainPem, ...rest, ...tail],
      env: sigstore.cosign2Env,
    };
  return { args: [command, '--trusted-root', sigstore.trustedRoot, ...rest, ...tail] };
}

/** The policy file: namespace `<prefix>-<policy>` for each policy. */
export function tlogPolicyYaml(prefix: string, keys: TlogKeys): string {
  return namespacedPolicyYaml(prefix, TLOG_POLICIES, keys);
}

let unique = 0;

/** Signs, attests and tampers the images of one version × format; returns its rows. */
export async function buildTlogWorld(
  c: Cosign,
  registry: TestRegistry,
  sigstore: LocalSigstore,
  format: TlogFormat,
  keys: TlogKeys,
): Promise<Row[]> {
  const repo = `oracle-tlog/${c.bin.version.replaceAll('.', '-')}-${format.name.replace(/[^a-z0-9]+/g, '-')}`;
  const predicate = join(c.home, 'slsa-tlog.json');
  await writeFile(predicate, JSON.stringify(PREDICATE_BODIES.slsaprovenance1));
  const signer = () =>
    format.signer === 'key'
      ? ['--key', keys.a.key]
      : ['--identity-token', sigstore.token({ iss: ISSUER, sub: SUBJECT })];
  const common = () => [
    '-y',
    ...REGISTRY_FLAGS,
    '--trusted-root',
    sigstore.trustedRoot,
    ...signer(),
    ...format.write(sigstore),
  ];
  const push = async (tag: string) => {
    unique += 1;
    const img = buildImage({
      platform: 'linux/amd64',
      steps: [{ createdBy: 'COPY id /', files: { id: `${process.pid}-${Date.now()}-${unique}` } }],
    });
    await pushImage(registry.url, repo, tag, img);
    return { ref: `${registry.host}/${repo}@${img.manifest.digest}`, digest: img.manifest.digest };
  };
  const signAndAttest = async (ref: string) => {
    await c.must(['sign', ...common(), ref]);
    await c.must(['attest', ...common(), '--type', 'slsaprovenance1', '--predicate', predicate, ref]);
  };

  const rows: Row[] = [];
  const what = format.signer === 'key' ? 'signed and attested by key A' : 'signed and attested keyless';
  const row = (image: string, ref: string, policy: string, expected: Verdict) => {
    const d = image === what && format.differs?.policies.includes(policy) ? format.differs : undefined;
    rows.push({
      version: c.bin.version,
      format: format.name,
      image,
      ref,
      policy,
      // What imagegate gives is `expected`; cosign, which the row must match, gives the other verdict.
      expected: d !== undefined ? (d.imagegate === 'accept' ? 'reject' : 'accept') : expected,
      ...(d !== undefined ? { deliberate: { imagegate: d.imagegate, why: d.why } } : {}),
    });
  };

  const signed = await push('signed');
  await signAndAttest(signed.ref);
  const victim = await push('swap-victim');
  const donor = await push('swap-donor');
  await signAndAttest(victim.ref);
  await signAndAttest(donor.ref);
  const tamper = new CosignTamper(registry);
  await tamper.swapPayload(format.storage, 'sig', repo, victim.digest, donor.digest);
  await tamper.swapPayload(format.storage, 'att', repo, victim.digest, donor.digest);

  const logged = format.noLog === true ? 'reject' : 'accept';
  if (format.storage === 'bundle') {
    // An attestation bundle alone (cosign 2 with a signing config even annotates its referrer as a
    // signature, dev.sigstore.bundle.predicateType https://sigstore.dev/cosign/sign/v1).
    const attested = await push('attested-only');
    await c.must([
      'attest',
      ...common(),
      '--type',
      'slsaprovenance1',
      '--predicate',
      predicate,
      attested.ref,
    ]);
    const policy = format.signer === 'key' ? 'key-a-log' : 'ci';
    const cosignAccepts = logged === 'accept' && format.differs?.policies.includes(policy) !== true;
    rows.push({
      version: c.bin.version,
      format: format.name,
      image: 'attested only',
      ref: attested.ref,
      policy,
      expected: cosignAccepts ? 'accept' : 'reject',
      ...(cosignAccepts
        ? { deliberate: { imagegate: 'reject' as const, why: ATTESTATION_IS_NO_SIGNATURE } }
        : {}),
    });
  }
  if (format.signer === 'key') {
    row(what, signed.ref, 'key-a-log', logged);
    row(what, signed.ref, 'key-b-log', 'reject');
    row(what, signed.ref, 'att-key-a-log', logged);
    row(what, signed.ref, 'ci', 'reject');
    row('swapped payloads', victim.ref, 'key-a-log', 'reject');
    row('swapped payloads', victim.ref, 'att-key-a-log', 'reject');
  } else {
    row(what, signed.ref, 'ci', logged);
    row(what, signed.ref, 'ci-nolog', 'accept');
    row(what, signed.ref, 'ci-other-subject', 'reject');
    row(what, signed.ref, 'ci-other-issuer', 'reject');
    row(what, signed.ref, 'att-ci', logged);
    row(what, signed.ref, 'key-a-log', 'reject');
    row('swapped payloads', victim.ref, 'ci', 'reject');
    row('swapped payloads', victim.ref, 'att-ci', 'reject');
    // Without a log entry only the signature and the timestamp stand against the swap.
    if (format.noLog === true) row('swapped payloads', victim.ref, 'ci-nolog', 'reject');
  }
  return rows;
}
