/**
 * cosign as the oracle (issue 23): images signed and attested by the real cosign (v2 and v3, built from
 * their Go modules by scripts/build-cosign.sh) in the loopback registry, in each storage format cosign
 * writes; for every image × policy row, `imagegate check` and `/validate` must give the accept/reject
 * of `cosign verify` / `cosign verify-attestation` with the equivalent flags, or differ exactly as
 * docs/signatures.md ("cosign compatibility") documents. The agreement matrix is printed.
 * Key-signed rows without a log are checked against the public-good root; the rows with a
 * transparency log (Rekor v1 and v2), Fulcio certificates and TSA timestamps use a Sigstore served on
 * loopback by the test (test/helpers/local-sigstore.ts) and its generated trusted root on both sides.
 * Without Go the suite is skipped with a notice; under CI=true that is a failure.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Setup } from '../../src/cli/setup.js';
import { fixturePath, HAVE_FIXTURES } from '../helpers/fixtures.js';
import { disagreements, formatMatrix, type Outcome } from '../helpers/agreement-matrix.js';
import { ROOT } from '../helpers/cli.js';
import { compareRow, oracleSides } from '../helpers/cosign-compare.js';
import { cosign, cosignBinaryPath, cosignTools, type Cosign, type CosignBinary } from '../helpers/cosign.js';
import { oraclePolicy, oraclePolicyYaml } from '../helpers/cosign-policies.js';
import {
  buildWorld,
  REGISTRY_FLAGS,
  type Row,
  type SigningFormat,
  type WorldKeys,
} from '../helpers/cosign-world.js';
import {
  buildTlogWorld,
  tlogFormatsOf,
  cosignVerification,
  tlogPolicyYaml,
  TRUSTED_ROOT_NAME,
  type TlogFormat,
  type TlogKeys,
} from '../helpers/cosign-tlog-world.js';
import { buildEngine, writePolicyFile } from '../helpers/engine.js';
import { startLocalSigstore, type LocalSigstore } from '../helpers/local-sigstore.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startServer, type TestServer } from '../helpers/server.js';

/** The pinned versions, read from the build script (one place to change them). */
const PINNED =
  /COSIGN_VERSIONS=\(([^)]*)\)/
    .exec(readFileSync(join(ROOT, 'scripts/build-cosign.sh'), 'utf8'))?.[1]
    ?.trim()
    .split(/\s+/) ?? [];
/** `IMAGEGATE_COSIGN_VERSIONS=v2.6.5` runs a subset while developing; CI runs them all. */
const ONLY = process.env.CI === 'true' ? undefined : process.env.IMAGEGATE_COSIGN_VERSIONS?.split(/[\s,]+/);
const VERSIONS = PINNED.filter((v) => ONLY === undefined || ONLY.includes(v));
/** cosign can be had: every version already built (see cosignBinaryPath), or Go to build them. */
const HAVE_COSIGN =
  VERSIONS.every((v) => existsSync(cosignBinaryPath(v))) ||
  spawnSync('go', ['version']).error === undefined ||
  existsSync('/usr/local/go/bin/go');
if (!HAVE_COSIGN) {
  if (process.env.CI === 'true')
    throw new Error('go not found: the cosign differential suite needs it under CI=true');
  console.warn(
    '[imagegate tests] go not found and cosign not built: the cosign differential suite (cosign v2/v3 as oracle) is skipped',
  );
}

const OCI11_UNSUPPORTED =
  "cosign's experimental OCI 1.1 mode for simple signing (COSIGN_EXPERIMENTAL=1, read only with " +
  '--experimental-oci11) is not read: imagegate finds nothing and denies (fail closed)';

/** Signatures as OCI 1.1 referrer artifacts (`application/vnd.dev.cosign.artifact.sig.v1+json`). */
function oci11(write: string[]): SigningFormat {
  return {
    name: 'legacy-oci11',
    storage: 'legacy',
    write: [...write, '--registry-referrers-mode=oci-1-1'],
    read: ['--experimental-oci11'],
    signaturesOnly: true,
    unsupported: OCI11_UNSUPPORTED,
  };
}

/**
 * The public-good trusted root (a shared fixture), given to both sides: cosign and imagegate then never
 * try TUF (no network here), and "log entry required" is judged on the signature, not on a missing root.
 */
const PUBLIC_GOOD = fixturePath('trust-roots', 'root-signing', 'targets', 'trusted_root.json');

/** The storage formats each major version writes with `--key` and `--tlog-upload=false`. */
function formatsOf(major: number): SigningFormat[] {
  if (major === 2) {
    return [
      oci11([]),
      { name: 'legacy', storage: 'legacy', write: [], read: [] },
      // cosign 2 reads bundles only with a trusted root, even with --key: every row passes PUBLIC_GOOD.
      { name: 'bundle', storage: 'bundle', write: ['--new-bundle-format'], read: [], legacyWrite: [] },
    ];
  }
  return [
    // cosign 3 writes bundles by default; the signing config (TUF) is not needed with a key and no log.
    {
      name: 'bundle',
      storage: 'bundle',
      write: ['--use-signing-config=false'],
      read: [],
      legacyWrite: ['--new-bundle-format=false', '--use-signing-config=false'],
    },
    {
      name: 'legacy',
      storage: 'legacy',
      write: ['--new-bundle-format=false', '--use-signing-config=false'],
      read: [],
    },
    oci11(['--new-bundle-format=false', '--use-signing-config=false']),
  ];
}

let binaries: CosignBinary[] = [];
let registry: TestRegistry;
const outcomes: Outcome[] = [];

describe.skipIf(!HAVE_COSIGN || !HAVE_FIXTURES)('cosign as the oracle', () => {
  beforeAll(async () => {
    const tools = cosignTools(VERSIONS);
    if (!tools.ok) throw new Error(`cannot build cosign: ${tools.reason}`);
    binaries = tools.binaries;
    for (const b of binaries) {
      console.info(
        `[cosign oracle] cosign ${b.version}: ${b.path} (${b.builtSeconds ? `built in ${b.builtSeconds} s` : 'cached'})`,
      );
    }
    registry = await startRegistry();
  }, 45 * 60_000);

  afterAll(async () => {
    if (outcomes.length > 0) console.info(`[cosign oracle] agreement matrix\n${formatMatrix(outcomes)}`);
    await registry?.stop();
  });

  describe.each(VERSIONS)('cosign %s', (version) => {
    let c: Cosign;
    let keys: WorldKeys;
    let setup: Setup;
    let server: TestServer;
    let policyFile: string;
    const prefix = version.split('.')[0] ?? version;
    const rowsByFormat = new Map<string, Row[]>();

    beforeAll(async () => {
      const bin = binaries.find((b) => b.version === version);
      if (bin === undefined) throw new Error(`scripts/build-cosign.sh did not build ${version}`);
      c = await cosign(bin);
      const [a, b] = [await c.generateKeyPair(), await c.generateKeyPair()];
      keys = { a, b };
      for (const format of formatsOf(bin.major)) {
        rowsByFormat.set(format.name, await buildWorld(c, registry, format, keys));
      }
      policyFile = await writePolicyFile(oraclePolicyYaml(prefix, keys));
      setup = await buildEngine({
        policy: [policyFile],
        insecureRegistry: [registry.host],
        trustedRoot: [`public-good=${PUBLIC_GOOD}`],
      });
      server = await startServer({ engine: setup.engine });
    }, 10 * 60_000);

    afterAll(async () => {
      await server?.close();
      await setup?.registry.close();
    });

    function compare(row: Row, format: SigningFormat): Promise<Outcome> {
      const sides = oracleSides(c, server, {
        policyFile,
        registryHost: registry.host,
        trustedRoot: `public-good=${PUBLIC_GOOD}`,
      });
      const verify = [
        ...oraclePolicy(row.policy).cosign(keys),
        '--trusted-root',
        PUBLIC_GOOD,
        ...REGISTRY_FLAGS,
        ...format.read,
        row.ref,
      ];
      return compareRow(sides, row, `${prefix}-${row.policy}`, verify);
    }

    it.each(['legacy', 'bundle', 'legacy-oci11'])(
      'agrees with cosign verify on every %s row',
      async (name) => {
        const format = formatsOf(Number(prefix.slice(1))).find((f) => f.name === name);
        const rows = rowsByFormat.get(name) ?? [];
        expect(format).toBeDefined();
        expect(rows.length).toBeGreaterThan(format?.signaturesOnly === true ? 6 : 30);
        const mine: Outcome[] = [];
        for (const row of rows) mine.push(await compare(row, format as SigningFormat));
        outcomes.push(...mine);
        // The scenarios exercise both verdicts; a matrix of rejections only would prove nothing.
        expect(new Set(mine.map((o) => o.cosign))).toEqual(new Set(['accept', 'reject']));
        expect(disagreements(mine)).toEqual([]);
      },
      10 * 60_000,
    );
  });

  describe.each(VERSIONS)('cosign %s with a transparency log, Fulcio and TSA on loopback', (version) => {
    let c: Cosign;
    let keys: TlogKeys;
    let sigstore: LocalSigstore;
    let setup: Setup;
    let server: TestServer;
    let policyFile: string;
    const prefix = `${version.split('.')[0] ?? version}-tlog`;
    const formats = tlogFormatsOf(Number(version.slice(1).split('.')[0]));
    const rowsByFormat = new Map<string, Row[]>();

    beforeAll(async () => {
      const bin = binaries.find((b) => b.version === version);
      if (bin === undefined) throw new Error(`scripts/build-cosign.sh did not build ${version}`);
      c = await cosign(bin);
      sigstore = await startLocalSigstore(c.home);
      keys = { a: await c.generateKeyPair(), b: await c.generateKeyPair() };
      for (const format of formats)
        rowsByFormat.set(format.name, await buildTlogWorld(c, registry, sigstore, format, keys));
      policyFile = await writePolicyFile(tlogPolicyYaml(prefix, keys));
      const trustedRoot = [`${TRUSTED_ROOT_NAME}=${sigstore.trustedRoot}`];
      setup = await buildEngine({ policy: [policyFile], insecureRegistry: [registry.host], trustedRoot });
      server = await startServer({ engine: setup.engine });
    }, 10 * 60_000);

    afterAll(async () => {
      await server?.close();
      await setup?.registry.close();
      await sigstore?.close();
    });

    it.each(formats.map((f) => f.name))(
      'agrees with cosign verify on every %s row',
      async (name) => {
        const rows = rowsByFormat.get(name) ?? [];
        expect(rows.length).toBeGreaterThan(5);
        const sides = oracleSides(c, server, {
          policyFile,
          registryHost: registry.host,
          trustedRoot: `${TRUSTED_ROOT_NAME}=${sigstore.trustedRoot}`,
        });
        const mine: Outcome[] = [];
        const format = formats.find((f) => f.name === name) as TlogFormat;
        for (const row of rows) {
          const cos = cosignVerification(c, format, row, keys, sigstore);
          mine.push(await compareRow(sides, row, `${prefix}-${row.policy}`, cos.args, cos.env));
        }
        outcomes.push(...mine);
        expect(new Set(mine.map((o) => o.cosign))).toEqual(new Set(['accept', 'reject']));
        expect(disagreements(mine)).toEqual([]);
      },
      10 * 60_000,
    );

    it('made them with every loopback service cosign was pointed at', () => {
      // Each route answered cosign: the rows above are not key-only signatures in disguise.
      const used = (path: string) => sigstore.served.get(path) ?? 0;
      expect(used('/api/v1/log/entries')).toBeGreaterThan(0);
      expect(used('/api/v2/log/entries')).toBeGreaterThan(0);
      expect(used('/api/v1/timestamp')).toBeGreaterThan(0);
      expect(used('/api/v2/signingCert')).toBeGreaterThan(0);
      if (version.startsWith('v2.')) expect(used('/api/v1/signingCert')).toBeGreaterThan(0);
    });
  });
});
