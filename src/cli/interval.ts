import { ConfigError } from '../errors.js';

/**
 * An interval such as 30m, 1h or 1h30m (Go duration units h, m, s), at least one minute: a
 * background audit more often than that would compete with admissions for the registry.
 */
export function parseInterval(flag: string, value: string): number {
  const unit = { h: 3_600_000, m: 60_000, s: 1000 } as const;
  if (!/^(\d+(\.\d+)?[hms])+$/.test(value))
    throw new ConfigError('USAGE', `--${flag} must be a duration like 1h or 30m (got "${value}")`);
  let ms = 0;
  for (const m of value.matchAll(/(\d+(?:\.\d+)?)([hms])/g))
    ms += Number(m[1]) * unit[m[2] as keyof typeof unit];
  if (ms < 60_000) throw new ConfigError('USAGE', `--${flag} must be at least 1m (got "${value}")`);
  return ms;
}
