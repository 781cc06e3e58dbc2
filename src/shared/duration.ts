/**
 * Durations written as `<number><unit>`: registry timeouts (`10s`, `500ms`), the API server's webhook
 * timeout (`10s`), policy `maxAge` (`30d`). One grammar; each caller says which units it takes.
 */

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

export type DurationUnit = keyof typeof UNIT_MS;

/** Milliseconds per unit. */
export const DURATION_UNIT_MS: Readonly<Record<DurationUnit, number>> = UNIT_MS;

const GRAMMAR = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d|w)$/;

export interface DurationGrammar {
  units: readonly DurationUnit[];
  /** Whether `1.5s` is accepted; default true. */
  fractions?: boolean;
}

/** `10s` → 10000; undefined when the text is not `<number><unit>` with one of `grammar.units`. */
export function parseDurationMs(text: string, grammar: DurationGrammar): number | undefined {
  const m = GRAMMAR.exec(text);
  if (m === null) return undefined;
  const [, amount = '', unit = ''] = m;
  if (!(grammar.units as readonly string[]).includes(unit)) return undefined;
  if (grammar.fractions === false && amount.includes('.')) return undefined;
  return Number(amount) * UNIT_MS[unit as DurationUnit];
}
