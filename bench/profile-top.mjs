/**
 * Summarises V8 .cpuprofile files (from `BENCH_PROFILE=1 npm run bench` or `node --cpu-prof`): self
 * time per function, aggregated over every node of the call tree, highest first.
 *
 *   node bench/profile-top.mjs bench/results/profiles/CPU.*.cpuprofile [--top 25] [--by file]
 *
 * --by function (default) groups by function name + file:line; --by file groups by script (e.g. to
 * see how much goes to fastify, pino, undici, node internals, imagegate). --inclusive counts a
 * function's callees too (each sample once per function on its stack). Percentages are of the busy
 * (not idle) time. --from NAME skips the samples before the first one with NAME on its stack (e.g.
 * `--from runReview` leaves out start-up: module loading, policy compilation). --clip counts each
 * sample for at most twice the median sampling interval: on a shared machine a process descheduled
 * mid-sample shows as one sample of 100+ ms on whatever happened to be on its stack.
 */
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
let top = 25;
let by = 'function';
let inclusive = false;
let from;
let clip = false;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--top') top = Number(args[++i]);
  else if (args[i] === '--by') by = args[++i];
  else if (args[i] === '--inclusive') inclusive = true;
  else if (args[i] === '--from') from = args[++i];
  else if (args[i] === '--clip') clip = true;
  else files.push(args[i]);
}
if (files.length === 0) {
  process.stderr.write(
    'usage: node bench/profile-top.mjs FILE.cpuprofile... [--top N] [--by function|file] [--inclusive] [--from NAME] [--clip]\n',
  );
  process.exit(2);
}

const short = (url) =>
  url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, '')
    .replace(/^.*\/dist\/src\//, 'src/')
    .replace(/^.*\/bench\//, 'bench/');

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // Time per sample: timeDeltas[i] is the time before samples[i].
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map();
  const { samples, timeDeltas } = profile;
  let first = 0;
  if (from !== undefined) {
    const onStack = (id) => {
      for (let p = id; p !== undefined; p = parent.get(p))
        if (byId.get(p)?.callFrame.functionName === from) return true;
      return false;
    };
    while (first < samples.length && !onStack(samples[first])) first++;
  }
  const sorted = timeDeltas.slice(1).sort((a, b) => a - b);
  const cap = clip ? 2 * (sorted[Math.floor(sorted.length / 2)] ?? 0) : Infinity;
  for (let i = first; i < samples.length; i++) {
    const dt = Math.min(cap, timeDeltas[i + 1] ?? 0); // the delta after a sample is the time it stood for
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + dt);
  }
  const keyOf = (node) => {
    const cf = node.callFrame;
    const where = short(cf.url || '');
    return by === 'file'
      ? where || cf.functionName || '(native)'
      : `${cf.functionName || '(anonymous)'} ${where ? `${where}:${cf.lineNumber + 1}` : ''}`.trim();
  };
  const groups = new Map();
  let total = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    total += us;
    const keys = new Set([keyOf(node)]);
    if (inclusive && keyOf(node) !== '(idle)') {
      for (let p = parent.get(id); p !== undefined; p = parent.get(p)) keys.add(keyOf(byId.get(p)));
      keys.delete('(root)');
    }
    for (const key of keys) groups.set(key, (groups.get(key) ?? 0) + us);
  }
  const idle = groups.get('(idle)') ?? 0;
  const busy = total - idle;
  console.log(
    `\n${short(file)}: ${(total / 1000).toFixed(0)} ms sampled, ${(busy / 1000).toFixed(0)} ms busy (not idle)`,
  );
  console.log(`  ${inclusive ? 'incl ms' : 'self ms'}   % busy  function`);
  const rows = [...groups.entries()].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]);
  for (const [key, us] of rows.slice(0, top)) {
    console.log(
      `  ${(us / 1000).toFixed(1).padStart(7)}  ${((100 * us) / busy).toFixed(1).padStart(6)}%  ${key}`,
    );
  }
}
