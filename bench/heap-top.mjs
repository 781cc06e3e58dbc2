/**
 * Summarises a sampled allocation profile (.heapprofile, e.g. BENCH_PROFILE_ALLOC=1 of
 * bench/cached-cpu.ts): bytes allocated per function (self), highest first, and with `--per N`
 * per unit of work (N reviews in the profile). Collected objects count when the profile was taken
 * with includeObjectsCollectedBy*GC (bench/cold-cpu-profile.mjs does).
 *
 *   node bench/heap-top.mjs FILE.heapprofile [--top 30] [--per N]
 */
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
let top = 30;
let per = 1;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--top') top = Number(args[++i]);
  else if (args[i] === '--per') per = Number(args[++i]);
  else files.push(args[i]);
}
if (files.length === 0) {
  process.stderr.write('usage: node bench/heap-top.mjs FILE.heapprofile... [--top N] [--per N]\n');
  process.exit(2);
}
const short = (url) =>
  url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, '')
    .replace(/^.*\/(dist\/)?(src|bench|test)\//, '$2/');
for (const file of files) {
  const { head } = JSON.parse(readFileSync(file, 'utf8'));
  const self = new Map();
  let total = 0;
  const walk = (node) => {
    const bytes = node.selfSize ?? 0;
    if (bytes > 0) {
      const f = node.callFrame;
      const key = `${f.functionName || '(anonymous)'} ${short(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`;
      self.set(key, (self.get(key) ?? 0) + bytes);
      total += bytes;
    }
    for (const c of node.children ?? []) walk(c);
  };
  walk(head);
  const unit = per === 1 ? 'bytes' : 'B/unit';
  process.stdout.write(
    `\n${file}: ${(total / per).toFixed(0)} ${unit} sampled\n  ${unit.padStart(8)}  function\n`,
  );
  for (const [key, bytes] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top))
    process.stdout.write(`  ${(bytes / per).toFixed(0).padStart(8)}  ${key}\n`);
}
