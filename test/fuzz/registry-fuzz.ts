/**
 * `npm run fuzz`: the hostile-registry fuzzer at nightly size (test/helpers/registry-fuzz/run.ts).
 *
 *   npm run fuzz                                   20,000 cases, seed printed
 *   npm run fuzz -- --seed 123 --cases 3000        another seed, another size
 *   npm run fuzz -- --seed 123 --case 417          replays one counterexample alone
 *   npm run build && IMAGEGATE_SERVE_COMPILED=dist/src/cli/main.js npm run fuzz   serve as the image runs it
 *                                                  (exact RSS: tsx adds ~85 MiB; serve-process.ts)
 *   IMAGEGATE_FUZZ_KNOWN_OPEN= npm run fuzz        every known-open class switched on (known-open.ts)
 *
 * Exits 1 when an invariant broke, printing the seed, each counterexample's case number and scenario.
 */
import { parseArgs } from 'node:util';
import { knownOpen } from '../helpers/registry-fuzz/known-open.js';
import { runRegistryFuzz } from '../helpers/registry-fuzz/run.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    cases: { type: 'string', default: '20000' },
    case: { type: 'string', multiple: true },
    batch: { type: 'string', default: '8' },
    concurrency: { type: 'string', default: '4' },
    timeout: { type: 'string', default: '3' },
  },
});
const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const open = knownOpen();
console.log(
  `[fuzz] seed ${seed}, ${values.case !== undefined ? `case ${values.case.join(', ')}` : `${values.cases} cases`}; ` +
    `known-open classes left out: ${[...open].join(', ') || 'none'}; serve ` +
    (process.env.IMAGEGATE_SERVE_COMPILED
      ? `compiled (${process.env.IMAGEGATE_SERVE_COMPILED})`
      : 'through tsx'),
);
const result = await runRegistryFuzz({
  seed,
  cases: Number(values.cases),
  only: values.case?.map(Number),
  batch: Number(values.batch),
  concurrency: Number(values.concurrency),
  timeoutS: Number(values.timeout),
  open,
  healthLimitMs: 1000,
  log: (l) => console.log(l),
});
const { violations, ...summary } = result;
const env =
  process.env.IMAGEGATE_FUZZ_KNOWN_OPEN !== undefined
    ? `IMAGEGATE_FUZZ_KNOWN_OPEN=${process.env.IMAGEGATE_FUZZ_KNOWN_OPEN} `
    : '';
console.log(`[fuzz] seed ${seed}: ${JSON.stringify(summary)}`);
for (const v of violations) {
  console.log(
    `\n[fuzz] counterexample: ${v.property}${v.case !== undefined ? ` (replay: ${env}npm run fuzz -- --seed ${seed} --timeout ${values.timeout} --case ${v.case})` : ''}`,
  );
  console.log(`  ${v.detail}`);
  if (v.scenario !== undefined) console.log(`  scenario: ${JSON.stringify(v.scenario)}`);
}
process.exit(violations.length > 0 ? 1 : 0);
