/**
 * Location of the shared third-party fixtures (../shared/fixtures, or IMAGEGATE_FIXTURES).
 * Absent folder: tests skip with a printed notice, except under CI=true where that is a failure.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const FIXTURES_DIR = resolve(
  process.env.IMAGEGATE_FIXTURES ?? join(repoRoot, '..', 'shared', 'fixtures'),
);
export const HAVE_FIXTURES = existsSync(join(FIXTURES_DIR, 'SOURCES.md'));

if (!HAVE_FIXTURES) {
  if (process.env.CI === 'true') {
    throw new Error(
      `shared fixtures not found at ${FIXTURES_DIR} (set IMAGEGATE_FIXTURES); required under CI=true`,
    );
  }
  console.warn(
    `[imagegate tests] shared fixtures not found at ${FIXTURES_DIR}: interoperability tests are skipped`,
  );
}

export function fixturePath(...parts: string[]): string {
  return join(FIXTURES_DIR, ...parts);
}
