/**
 * `serve` flags for the request-body budget (server/body-budget.ts): how many bodies may be in
 * flight, their bytes, per remote address, and how fast they must arrive. Each is optional; an unset
 * flag keeps DEFAULT_BODY_BUDGET. Bad values are usage errors (exit 2).
 */
import { parseQuantity } from '../checks/quantity.js';
import { ConfigError } from '../errors.js';
import type { BodyBudgetOptions } from '../server/body-budget.js';
import { parseDurationMs } from '../shared/duration.js';

export const BODY_FLAGS = {
  'max-request-bodies': { type: 'string' },
  'max-request-body-bytes': { type: 'string' },
  'max-request-bodies-per-address': { type: 'string' },
  'max-request-body-bytes-per-address': { type: 'string' },
  'request-body-timeout': { type: 'string' },
  'request-body-first-byte-timeout': { type: 'string' },
  'request-body-min-rate': { type: 'string' },
} as const;

function usage(flag: string, wanted: string, value: string): ConfigError {
  return new ConfigError(
    'USAGE',
    `--${flag} must be ${wanted} (got "${value}")\nRun "imagegate --help" for usage.`,
  );
}

function count(flag: string, value: string): number {
  if (!/^[1-9][0-9]{0,6}$/.test(value)) throw usage(flag, 'a whole number from 1 to 9999999', value);
  return Number(value);
}

function bytes(flag: string, value: string, min: number): number {
  let n: number;
  try {
    n = parseQuantity(value, `--${flag}`);
  } catch {
    throw usage(flag, 'a size such as 24Mi, 512Ki or 1048576', value);
  }
  if (n < min) throw usage(flag, `at least ${min} bytes`, value);
  return n;
}

function millis(flag: string, value: string): number {
  const ms = parseDurationMs(value, { units: ['ms', 's', 'm'] });
  if (ms === undefined || ms < 100)
    throw usage(flag, 'a duration of at least 100ms, such as 500ms or 10s', value);
  return ms;
}

/** The body budget the flags in `values` ask for (only the ones given). */
export function parseBodyFlags(values: Record<string, unknown>): BodyBudgetOptions {
  const get = (flag: keyof typeof BODY_FLAGS): string | undefined => values[flag] as string | undefined;
  const out: BodyBudgetOptions = {};
  const set = <K extends keyof BodyBudgetOptions>(key: K, value: BodyBudgetOptions[K] | undefined): void => {
    if (value !== undefined) out[key] = value;
  };
  const each = <T>(
    flag: keyof typeof BODY_FLAGS,
    parse: (flag: string, value: string) => T,
  ): T | undefined => {
    const v = get(flag);
    return v === undefined ? undefined : parse(flag, v);
  };
  set('maxBodies', each('max-request-bodies', count));
  set(
    'maxBytes',
    each('max-request-body-bytes', (f, v) => bytes(f, v, 1024)),
  );
  set('maxBodiesPerAddress', each('max-request-bodies-per-address', count));
  set(
    'maxBytesPerAddress',
    each('max-request-body-bytes-per-address', (f, v) => bytes(f, v, 1024)),
  );
  set('receiveTimeoutMs', each('request-body-timeout', millis));
  set('firstByteTimeoutMs', each('request-body-first-byte-timeout', millis));
  set(
    'minBytesPerSecond',
    each('request-body-min-rate', (f, v) => bytes(f, v, 0)),
  );
  return out;
}
