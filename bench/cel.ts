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
for (const n of [1_000, 10_000, 100_000]) {
  const sbom = {
    spdxVersion: 'SPDX-2.3',
    packages: Array.from({ length: n }, (_, i) => ({ name: `pkg-${i}`, versionInfo: `1.${i}.0` })),
  };
  const text = JSON.stringify(sbom);
  const parse = time(() => JSON.parse(text));
  const linear = compileCondition(
    '!predicate.packages.exists(p, p.name == "log4j-core" && p.versionInfo.startsWith("2.14"))',
    'bench',
  );
  const predicate: unknown = JSON.parse(text);
  let result = '';
  const scan = time(() => {
    const r = linear.evaluate({ predicate, statement: {}, image });
    result = r.ok ? String(r.value) : r.code;
  });
  rows.push([
    `linear scan, ${n} packages (${(text.length / 1e6).toFixed(1)} MB)`,
    parse.toFixed(1),
    scan.toFixed(1),
    (scan / parse).toFixed(2),
    result,
  ]);
}
{
  // A denial re-runs the condition under the read meter to report the values it read.
  const packages = Array.from({ length: 100_000 }, (_, i) => ({ name: `pkg-${i}`, versionInfo: '1.0' }));
  packages.push({ name: 'log4j-core', versionInfo: '2.14.1' });
  const text = JSON.stringify({ packages });
  const parse = time(() => JSON.parse(text));
  const linear = compileCondition(
    '!predicate.packages.exists(p, p.name == "log4j-core" && p.versionInfo.startsWith("2.14"))',
    'bench',
  );
  const predicate: unknown = JSON.parse(text);
  let result = '';
  const denied = time(() => {
    const r = linear.evaluate({ predicate, statement: {}, image });
    result = r.ok ? String(r.value) : r.code;
  });
  rows.push([
    'linear scan, false at package 100001 (metered)',
    parse.toFixed(1),
    denied.toFixed(1),
    (denied / parse).toFixed(2),
    result,
  ]);
}
{
  const sbom = { packages: Array.from({ length: 20_000 }, (_, i) => ({ name: `pkg-${i}` })) };
  const text = JSON.stringify(sbom);
  const parse = time(() => JSON.parse(text));
  const quadratic = compileCondition(
    'predicate.packages.all(p, predicate.packages.exists(q, q.name == p.name))',
    'bench',
  );
  const predicate: unknown = JSON.parse(text);
  let result = '';
  const stopped = time(() => {
    const r = quadratic.evaluate({ predicate, statement: {}, image });
    result = r.ok ? String(r.value) : r.code;
  });
  rows.push([
    `quadratic scan, 20000 packages (budget ${DEFAULT_READ_BUDGET} reads)`,
    parse.toFixed(1),
    stopped.toFixed(1),
    (stopped / parse).toFixed(2),
    result,
  ]);
}

const header = ['case', 'JSON.parse ms', 'condition ms', 'ratio', 'result'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
for (const r of [header, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
