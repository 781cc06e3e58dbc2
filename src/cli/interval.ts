import { ConfigError } from '../errors.js';
import { parseDurationMs } from '../shared/duration.js';

/**
 * An interval such as 30m, 1h or 1h30m (Go duration units h, m, s; shared/duration.ts's grammar),
 * at least one minute: a background audit more often than that would compete with admissions for
 * the registry.
 */
export function parseInterval(flag: string, value: string): number {
  const ms = parseDurationMs(value, { units: ['h', 'm', 's'], compound: true });
  if (ms === undefined)
    throw new ConfigError('USAGE', `--${flag} must be a duration like 1h or 30m (got "${value}")`);
  if (ms < 60_000) throw new ConfigError('USAGE', `--${flag} must be at least 1m (got "${value}")`);
  return ms;
}
