/**
 * `node --import tsx bench/cel.ts`: what an attestation condition costs on large, attacker-supplied
 * predicates, as ratios against JSON.parse of the same predicate (the baseline every attestation
 * pays anyway), and the worst case the read budget allows (a quadratic scan stopped at the budget).
 * Prints a table; see docs/benchmarks.md and docs/attestations.md (Limits).
 */
import { compileCondition, DEFAULT_READ_BUDGET } from '../src/checks/attestations/cel.js';

const image = { reference: 'r.test/app@sha256:ab', digest: 'sha256:ab', platform: 'linux/amd64' };
const TRIALS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(fn: () => void): number {
  const runs: number[] = [];
  for (let i = 0; i < TRIALS; i++) {
    const t = performance.now();
    fn();
    runs.push(performance.now() - t);
  }
  return median(runs);
}

const rows: string[][] = [];

/** One row: JSON.parse of `predicate`'s text against evaluating `condition` on it (medians). */
function measure(label: string, predicate: unknown, condition: string): void {
  const text = JSON.stringify(predicate);
  const parse = time(() => JSON.parse(text));
  const compiled = compileCondition(condition, 'bench');
  const parsed: unknown = JSON.parse(text);
  let result = '';
  const evaluated = time(() => {
    const r = compiled.evaluate({ predicate: parsed, statement: {}, image });
    result = r.ok ? String(r.value) : r.code;
  });
  rows.push([
    label.replace('SIZE', `${(text.length / 1e6).toFixed(1)} MB`),
    parse.toFixed(1),
    evaluated.toFixed(1),
    (evaluated / parse).toFixed(2),
    result,
  ]);
}

const LOG4J = '!predicate.packages.exists(p, p.name == "log4j-core" && p.versionInfo.startsWith("2.14"))';
for (const n of [1_000, 10_000, 100_000]) {
  const packages = Array.from({ length: n }, (_, i) => ({ name: `pkg-${i}`, versionInfo: `1.${i}.0` }));
  measure(`linear scan, ${n} packages (SIZE)`, { spdxVersion: 'SPDX-2.3', packages }, LOG4J);
}
// A denial re-runs the condition under the read meter to report the values it read.
const denied = Array.from({ length: 100_000 }, (_, i) => ({ name: `pkg-${i}`, versionInfo: '1.0' }));
denied.push({ name: 'log4j-core', versionInfo: '2.14.1' });
measure('linear scan, false at package 100001 (metered)', { packages: denied }, LOG4J);
measure(
  `quadratic scan, 20000 packages (budget ${DEFAULT_READ_BUDGET} reads)`,
  { packages: Array.from({ length: 20_000 }, (_, i) => ({ name: `pkg-${i}` })) },
  'predicate.packages.all(p, predicate.packages.exists(q, q.name == p.name))',
);

const header = ['case', 'JSON.parse ms', 'condition ms', 'ratio', 'result'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
for (const r of [header, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
