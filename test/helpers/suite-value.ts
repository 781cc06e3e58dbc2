/**
 * A value the enclosing `describe` shares (a registry, a server, a seeded world): made in a beforeAll
 * registered here, so before the block's own hooks run, and released after the block's other
 * afterAlls. What it returns stands for the value: read its fields inside hooks and tests (reading
 * them earlier, at collection, is a test bug and throws).
 */
import { afterAll, beforeAll } from 'vitest';

export function useSuiteValue<T extends object>(
  make: () => Promise<T>,
  release: (value: T) => Promise<unknown>,
  timeoutMs?: number,
): T {
  let value: T | undefined;
  beforeAll(async () => {
    value = await make();
  }, timeoutMs);
  afterAll(async () => {
    if (value !== undefined) await release(value);
  });
  return new Proxy({} as T, {
    get(_, key) {
      if (value === undefined) throw new Error(`${String(key)} read before the beforeAll that makes it`);
      const field: unknown = Reflect.get(value, key, value);
      return typeof field === 'function' ? field.bind(value) : field;
    },
  });
}
