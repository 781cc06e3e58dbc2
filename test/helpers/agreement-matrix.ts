/**
 * The cosign differential suite's agreement matrix: one line per image × policy with cosign's verdict,
 * `imagegate check`'s and `/validate`'s, and whether they agree (or differ as documented).
 */
import type { Row, Verdict } from './cosign-world.js';

export interface Outcome extends Row {
  cosign: Verdict;
  check: Verdict;
  validate: Verdict;
  /** imagegate check's denial code ('' when it accepted). */
  code: string;
  /** The imagegate denial (check's first line) or cosign's error, for the disagreement report. */
  why: { cosign: string; check: string };
}

export type Agreement = 'agree' | 'deliberate' | 'DISAGREE' | 'SETUP?';

export function agreementOf(o: Outcome): Agreement {
  if (o.cosign !== o.expected) return 'SETUP?';
  const imagegate = o.deliberate?.imagegate ?? o.cosign;
  if (o.check !== o.validate || o.check !== imagegate) return 'DISAGREE';
  return o.deliberate !== undefined ? 'deliberate' : 'agree';
}

const mark = (v: Verdict) => (v === 'accept' ? 'accept' : 'reject');

/** A fixed-width text table (what the suite prints), then one line per deliberate difference. */
export function formatMatrix(outcomes: readonly Outcome[]): string {
  const header = [
    'cosign',
    'format',
    'image',
    'policy',
    'cosign',
    'check',
    '/validate',
    'agreement',
    'imagegate code',
  ];
  const lines = outcomes.map((o) => [
    o.version,
    o.format,
    o.image,
    o.policy,
    mark(o.cosign),
    mark(o.check),
    mark(o.validate),
    agreementOf(o),
    o.code,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const counts = new Map<Agreement, number>();
  for (const o of outcomes) counts.set(agreementOf(o), (counts.get(agreementOf(o)) ?? 0) + 1);
  const reasons = [...new Set(outcomes.flatMap((o) => (o.deliberate ? [o.deliberate.why] : [])))];
  return [
    fmt(header),
    fmt(widths.map((w) => '-'.repeat(w))),
    ...lines.map(fmt),
    '',
    `${outcomes.length} rows: ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')}`,
    ...reasons.map((r) => `deliberate: ${r}`),
  ].join('\n');
}

/** The rows that are neither agreement nor a documented difference, with both sides' reasons. */
export function disagreements(outcomes: readonly Outcome[]): string[] {
  return outcomes
    .filter((o) => {
      const a = agreementOf(o);
      return a === 'DISAGREE' || a === 'SETUP?';
    })
    .map(
      (o) =>
        `${o.version} ${o.format} "${o.image}" × ${o.policy}: expected ${o.expected}, cosign ${o.cosign} ` +
        `(${o.why.cosign}), check ${o.check} (${o.why.check}), /validate ${o.validate}`,
    );
}
