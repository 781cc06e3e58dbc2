/**
 * A registry for the enclosing `describe` (suite-value.ts): started before its hooks, stopped after.
 * Apart from registry.ts because it needs vitest's hooks, and registry.ts is also imported by scripts
 * that run outside vitest (`npm run bench`, `npm run fuzz`).
 */
import { startRegistry, type StartRegistryOptions, type TestRegistry } from './registry.js';
import { useSuiteValue } from './suite-value.js';

export function useRegistry(options: StartRegistryOptions = {}): TestRegistry {
  return useSuiteValue(
    () => startRegistry(options),
    (registry) => registry.stop(),
  );
}
