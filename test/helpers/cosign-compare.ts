/**
 * One row of the cosign differential suite: the same image asked of `cosign verify` (or
 * `verify-attestation`), of `imagegate check` and of the webhook's `/validate`, each with the
 * equivalent policy; the three verdicts and imagegate's denial code make an Outcome.
 */
import { podReview } from './admission-fixtures.js';
import type { Outcome } from './agreement-matrix.js';
import { imagegate } from './cli.js';
import type { Cosign } from './cosign.js';
import type { Row } from './cosign-world.js';
import type { TestServer } from './server.js';

export interface Sides {
  c: Cosign;
  server: TestServer;
  /** imagegate's options common to every row (`--policy`, `--insecure-registry`, `--trusted-root`…). */
  check: string[];
}

/** The sides of a matrix whose imagegate runs take one policy file, one insecure registry and one trusted root. */
export function oracleSides(
  c: Cosign,
  server: TestServer,
  on: { policyFile: string; registryHost: string; trustedRoot: string },
): Sides {
  const check = ['--policy', on.policyFile, '--insecure-registry', on.registryHost];
  return { c, server, check: [...check, '--trusted-root', on.trustedRoot] };
}

// Denial codes have an underscore (NO_SIGNATURES, DIGEST_MISMATCH, ATTESTATION_MISSING…).
const CODE = /\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b/;
const lines = (s: string) => s.trim().split('\n').filter(Boolean);
const lastLine = (s: string) => lines(s).at(-1) ?? '';

/**
 * `cosignArgs`: the whole cosign command line (verification flags, registry flags, the image);
 * `cosignEnv`: trust cosign reads from its environment, if any.
 */
export async function compareRow(
  sides: Sides,
  row: Row,
  namespace: string,
  cosignArgs: string[],
  cosignEnv?: Record<string, string>,
): Promise<Outcome> {
  const cos = await sides.c.run(cosignArgs, cosignEnv !== undefined ? { env: cosignEnv } : {});
  const check = await imagegate([
    'check',
    ...sides.check,
    '--namespace',
    namespace,
    '--log-level',
    'error',
    row.ref,
  ]);
  if (check.code !== 0 && check.code !== 1)
    throw new Error(`imagegate check exited ${check.code}: ${check.stderr}`);
  const res = await sides.server.post('/validate', podReview([row.ref], { namespace }));
  const response = (res.json as { response?: { allowed?: boolean } } | undefined)?.response;
  if (res.status !== 200 || typeof response?.allowed !== 'boolean') throw new Error(`/validate: ${res.text}`);
  const denial = lines(check.stdout).find((l) => CODE.test(l)) ?? lastLine(check.stdout);
  return {
    ...row,
    cosign: cos.code === 0 ? 'accept' : 'reject',
    check: check.code === 0 ? 'accept' : 'reject',
    validate: response.allowed ? 'accept' : 'reject',
    code: check.code === 0 ? '' : (CODE.exec(denial)?.[0] ?? '?'),
    why: { cosign: lastLine(cos.stderr), check: denial.trim() },
  };
}
