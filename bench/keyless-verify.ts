/**
 * A keyless signature's verification CPU alone (issue 26, round 7), in-process, without the registry:
 * `node --import tsx bench/keyless-verify.ts [signatures]` signs that many never-seen digests with the
 * test Fulcio CA, CT log and Rekor (test/helpers/test-sigstore.ts), as a legacy `.sig` layer (Rekor
 * SET) and as a Sigstore bundle (SET and inclusion proof), then runs bench/keyless-verify-child.mjs
 * with plain node over the compiled dist/ (`npx tsc -p tsconfig.build.json` first): each layer
 * converted and verified as a check does (`toBundle` / `toBundleFromJSON`, then
 * `verifyCertificateSignature`), in rounds over all the signatures, reporting CPU per signature (the
 * minimum round: the code's cost on a shared machine; the median: what this run saw).
 * BENCH_DISTS=a,b alternates builds (each a dist/src directory) for BENCH_ROUNDS pairs (default 5).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { COSIGN_SIGN_PREDICATE } from '../src/checks/signature/signed-payload.js';
import { ACME, createTestInstance } from '../test/helpers/test-sigstore.js';

const here = dirname(fileURLToPath(import.meta.url));
const N = Number(process.argv[2] ?? 60);
const work = await mkdtemp(join(tmpdir(), 'imagegate-keyless-verify-'));
try {
  const sigstore = await createTestInstance(work);
  const sigs = [];
  const bundles = [];
  for (let i = 0; i < N; i++) {
    const digest = `sha256:${createHash('sha256').update(`keyless-verify ${i}`).digest('hex')}`;
    const sig = await sigstore.signLegacy({ digest, identity: ACME });
    sigs.push({ payload: sig.payload.toString('base64'), annotations: sig.annotations });
    const statement = { digest, identity: ACME, predicateType: COSIGN_SIGN_PREDICATE };
    bundles.push(await sigstore.signBundle(statement));
  }
  const file = join(work, 'signatures.json');
  const identity = { issuer: ACME.issuer, subject: ACME.subject };
  await writeFile(file, JSON.stringify({ trustedRoot: sigstore.trustedRootPath, identity, sigs, bundles }));

  const child = async (dist?: string): Promise<Record<string, { min: number; median: number }>> => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(here, 'keyless-verify-child.mjs'), file],
      { env: { ...process.env, ...(dist !== undefined ? { BENCH_DIST: dist } : {}) } },
    );
    return JSON.parse(stdout) as Record<string, { min: number; median: number }>;
  };
  const dists = process.env.BENCH_DISTS?.split(',');
  if (dists === undefined) {
    process.stdout.write(`${JSON.stringify({ signatures: N, ...(await child()) })}\n`);
  } else {
    const ab = [];
    for (let round = 1; round <= Number(process.env.BENCH_ROUNDS ?? 5); round++) {
      for (const dist of dists) {
        const m = await child(dist);
        ab.push({ round, dist, ...m });
        const line = Object.entries(m).map(([k, v]) => `${k} ${v.min} µs (median ${v.median})`);
        process.stderr.write(`round ${round} ${dist}: ${line.join(', ')}\n`);
      }
    }
    process.stdout.write(`${JSON.stringify({ signatures: N, ab })}\n`);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
