/** Engines for tests, built the way the CLI builds them (setupEngine), with a silent logger. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { CommonOptions } from '../../src/cli/args.js';
import { setupEngine, type Setup } from '../../src/cli/setup.js';

export function commonOptions(overrides: Partial<CommonOptions> = {}): CommonOptions {
  return {
    policy: [],
    insecureRegistry: [],
    allowRegistry: [],
    trustedRoot: [],
    logLevel: 'silent',
    ...overrides,
  };
}

export function buildEngine(overrides: Partial<CommonOptions> = {}): Promise<Setup> {
  return setupEngine(commonOptions(overrides), pino({ level: 'silent' }));
}

/** Writes YAML text to a fresh temp dir and returns the file's path. */
export async function writePolicyFile(yaml: string, name = 'policies.yaml'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'imagegate-policy-'));
  const file = join(dir, name);
  await writeFile(file, yaml);
  return file;
}
