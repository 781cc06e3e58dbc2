/**
 * Checks the house rules of docs/architecture.md against the code (`npm run check:architecture`, part
 * of `npm run check` and .ci/run): the folder table's imports, `process` only in the named entry points,
 * no file over 300 lines in src/, scripts/ and bench/, barrels that only re-export. The doc is the
 * input: change the table there and this follows. Exit 1 with one line per violation.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkHouseRules, parseHouseRules, type SourceFile } from './architecture/rules.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHECKED = ['src', 'scripts', 'bench'];
const SOURCE = /\.(ts|mts|js|mjs)$/;

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'results' || e.name === 'node_modules' ? [] : walk(path);
    return SOURCE.test(e.name) ? [path] : [];
  });
}

const rules = parseHouseRules(readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8'));
const files: SourceFile[] = CHECKED.flatMap((d) => walk(join(ROOT, d))).map((path) => ({
  path: relative(ROOT, path).split('\\').join('/'),
  text: readFileSync(path, 'utf8'),
}));
const problems = checkHouseRules(rules, files);
for (const p of problems) console.error(p);
if (problems.length > 0) {
  console.error(`${problems.length} violation(s) of docs/architecture.md's rules`);
  process.exitCode = 1;
} else {
  console.log(`architecture: ${files.length} files follow docs/architecture.md's rules`);
}
