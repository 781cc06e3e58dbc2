/**
 * Durations written as `<number><unit>`: registry timeouts (`10s`, `500ms`), the API server's webhook
 * timeout (`10s`), policy `maxAge` (`30d`), and, where the caller asks for `compound`, Go-style
 * sequences such as the background audit interval (`1h30m`). One grammar; each caller says which
 * units it takes.
 */

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

export type DurationUnit = keyof typeof UNIT_MS;

/** Milliseconds per unit. */
export const DURATION_UNIT_MS: Readonly<Record<DurationUnit, number>> = UNIT_MS;

/** One `<number><unit>` term; `ms` is tried before `m`. Sticky: terms are read one after another. */
const TERM = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d|w)/y;

export interface DurationGrammar {
  units: readonly DurationUnit[];
  /** Whether `1.5s` is accepted; default true. */
  fractions?: boolean;
  /** Whether several terms may follow each other, summed (Go's `1h30m`, `1m30s`); default false. */
  compound?: boolean;
}

/** `10s` → 10000; undefined when the text is not `<number><unit>` (or, with `compound`, a sequence
 * of them) with units from `grammar.units`. */
export function parseDurationMs(text: string, grammar: DurationGrammar): number | undefined {
  let total = 0;
  let terms = 0;
  TERM.lastIndex = 0;
  while (TERM.lastIndex < text.length) {
    const m = TERM.exec(text);
    if (m === null) return undefined;
    const [, amount = '', unit = ''] = m;
    if (!(grammar.units as readonly string[]).includes(unit)) return undefined;
    if (grammar.fractions === false && amount.includes('.')) return undefined;
    total += Number(amount) * UNIT_MS[unit as DurationUnit];
    terms++;
    if (terms > 1 && grammar.compound !== true) return undefined;
  }
  return terms === 0 ? undefined : total;
}
