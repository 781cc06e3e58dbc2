/**
 * `npm run fuzz` and `npm run bench` run test helpers outside vitest, where importing vitest throws
 * ("Vitest failed to access its internal state"). A helper that needs vitest's hooks (useRegistry,
 * useSuiteValue…) must live in its own module: this walks each entry point's relative imports and
 * fails on any path that reaches `vitest`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../helpers/cli.js';

const IMPORT = /^(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/gm;

/** Each chain from `entry` to a module importing vitest, as repo-relative paths. */
function vitestChains(entry: string): string[] {
  const parent = new Map<string, string>();
  const seen = new Set<string>();
  const chains: string[] = [];
  const stack = [entry];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      if (spec === 'vitest' || spec!.startsWith('vitest/')) {
        const chain = [file];
        for (let f = file; parent.has(f);) chain.push((f = parent.get(f)!));
        chains.push(chain.map((f) => relative(ROOT, f)).join(' <- '));
      } else if (spec!.startsWith('.')) {
        const next = resolve(dirname(file), spec!).replace(/\.js$/, '.ts');
        if (!existsSync(next)) continue;
        if (!parent.has(next)) parent.set(next, file);
        stack.push(next);
      }
    }
  }
  return chains;
}

const ENTRIES = [
  'test/fuzz/registry-fuzz.ts',
  ...readdirSync(join(ROOT, 'bench'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `bench/${f}`),
];

describe('scripts that run outside vitest', () => {
  it.each(ENTRIES)('%s imports nothing that imports vitest', (entry) => {
    expect(vitestChains(join(ROOT, entry))).toEqual([]);
  });

  it('finds such a chain (the check can fail)', () => {
    expect(vitestChains(join(ROOT, 'test/helpers/use-registry.ts'))).toEqual([
      'test/helpers/suite-value.ts <- test/helpers/use-registry.ts',
    ]);
  });
});
