import { describe, expect, it } from 'vitest';
import { checkHouseRules, importsOf, parseHouseRules } from '../../../scripts/architecture/rules.js';

const DOC = `# Architecture

## Folders and what each may import

| folder | holds | may import |
| --- | --- | --- |
| \`shared/\` | helpers | nothing |
| \`errors.ts\` | errors | nothing |
| \`registry/\` | the client | \`errors\`, \`shared\`, types of \`@kubernetes/client-node\` |
| \`evaluate/\` | the evaluator | \`registry\`, \`errors\` |
| \`evaluate/decision.ts\` | the verdict | types of \`registry/types\` |
| \`kube/\` | Kubernetes | \`errors\`, \`@kubernetes/client-node\` — never \`evaluate\` |
| \`cli/\` | commands | everything above |

Entry points (the only files that touch \`process\`): \`cli/main.ts\`.

Module-level state (the only exceptions): \`registry/pools.ts#byAgent\` (which pools own an agent).

## Where to change what
`;

const rules = parseHouseRules(DOC);
const check = (path: string, text: string): string[] => checkHouseRules(rules, [{ path, text }]);

describe('the house rules script', () => {
  describe('when it reads the folder table', () => {
    it('takes each row, its type-only entries, "everything above" and the entry points', () => {
      expect(rules.imports.find((r) => r.unit === 'registry')).toEqual({
        unit: 'registry',
        any: ['errors', 'shared'],
        typesOnly: ['@kubernetes/client-node'],
      });
      expect(rules.imports.find((r) => r.unit === 'kube')?.any).toEqual([
        'errors',
        '@kubernetes/client-node',
      ]);
      expect(rules.imports.find((r) => r.unit === 'cli')?.any).toContain('evaluate/decision');
      expect(rules.entryPoints).toEqual(['cli/main.ts']);
      expect(rules.moduleState).toEqual(['registry/pools.ts#byAgent']);
    });

    it('fails loudly when the doc lost its table or its entry-point line', () => {
      expect(() => parseHouseRules('# nothing here')).toThrow(/Folders and what each may import/);
      expect(() => parseHouseRules(DOC.replace(/^Entry points.*$/m, ''))).toThrow(/Entry points/);
      expect(() => parseHouseRules(DOC.replace(/^Module-level state.*$/m, ''))).toThrow(/Module-level state/);
    });
  });

  describe('imports', () => {
    it('allows what the row names, and anything inside the same folder', () => {
      expect(
        check(
          'src/evaluate/evaluate.ts',
          "import { x } from '../registry/client.js';\nimport { d } from './decision.js';",
        ),
      ).toEqual([]);
    });

    it('reports code imported from a folder the row does not name', () => {
      expect(check('src/registry/client.ts', "import { evaluate } from '../evaluate/evaluate.js';")).toEqual([
        'src/registry/client.ts:1: imports code of `evaluate/evaluate`, which the `registry` row does not allow',
      ]);
    });

    it('lets "types of" pass type-only imports and nothing else', () => {
      expect(check('src/evaluate/decision.ts', "import type { T } from '../registry/types.js';")).toEqual([]);
      expect(
        check('src/evaluate/decision.ts', "import { type T, f } from '../registry/types.js';"),
      ).toHaveLength(1);
      expect(check('src/evaluate/decision.ts', "import { f } from '../registry/client.js';")).toHaveLength(1);
    });

    it('uses the most specific row: a file row is stricter than its folder row', () => {
      expect(check('src/evaluate/decision.ts', "import { x } from '../errors.js';")).toHaveLength(1);
      expect(check('src/evaluate/engine.ts', "import { x } from '../errors.js';")).toEqual([]);
    });

    it('confines a scoped package a row names to the rows that name it', () => {
      const kube = "import { KubeConfig } from '@kubernetes/client-node';";
      expect(check('src/kube/config.ts', kube)).toEqual([]);
      expect(check('src/registry/pull.ts', kube)).toHaveLength(1);
      expect(
        check('src/registry/pull.ts', "import type { V1Secret } from '@kubernetes/client-node';"),
      ).toEqual([]);
      expect(check('src/registry/pull.ts', "import { request } from 'undici';")).toEqual([]);
    });

    it('counts re-exports and import() types as imports', () => {
      expect(check('src/registry/index.ts', "export { f } from '../evaluate/evaluate.js';")).toHaveLength(1);
      expect(
        importsOf({ path: 'src/a.ts', text: "let x: import('./b.js').T;\nawait import('./c.js');" }),
      ).toEqual([
        { specifier: './b.js', typeOnly: true, line: 1 },
        { specifier: './c.js', typeOnly: false, line: 2 },
      ]);
    });

    it('reports a src/ file no row covers', () => {
      expect(check('src/stray/file.ts', '')).toEqual([
        'src/stray/file.ts: no row of the folder table in docs/architecture.md covers this file',
      ]);
    });
  });

  describe('process', () => {
    it('is allowed in the entry points only, comments and property names aside', () => {
      expect(check('src/cli/main.ts', 'process.exitCode = 1;')).toEqual([]);
      expect(check('src/kube/config.ts', '// process.env is read by main\nthis.process.release();')).toEqual(
        [],
      );
      expect(check('src/kube/config.ts', 'const e = process.env;')).toEqual([
        'src/kube/config.ts:1: touches `process` outside the entry points docs/architecture.md names',
      ]);
      expect(check('src/kube/config.ts', "import { env } from 'node:process';")).toHaveLength(1);
    });
  });

  describe('file length', () => {
    it('caps src/, scripts/ and bench/ files at 300 lines', () => {
      const lines = (n: number): string => 'const a = 1;\n'.repeat(n);
      expect(check('bench/run.ts', lines(300))).toEqual([]);
      expect(check('bench/run.ts', lines(301))).toEqual(['bench/run.ts: 301 lines, over the cap of 300']);
      expect(check('scripts/x.mjs', lines(400))).toHaveLength(1);
    });
  });

  describe('barrels', () => {
    it('lets an index.ts only re-export', () => {
      expect(
        check(
          'src/kube/index.ts',
          "/** doc */\nexport { a } from './a.js';\nexport type { B } from './b.js';",
        ),
      ).toEqual([]);
      expect(
        check('src/kube/index.ts', "import { a } from './a.js';\nexport function f() { return a; }"),
      ).toEqual([
        'src/kube/index.ts:1: a barrel index.ts only re-exports (found ImportDeclaration)',
        'src/kube/index.ts:2: a barrel index.ts only re-exports (found FunctionDeclaration)',
      ]);
    });
  });

  describe('module-level state', () => {
    const flagged = (text: string, path = 'src/registry/x.ts'): string[] =>
      check(path, text).map((p) => p.replace(/: state belongs to .*$/, ''));

    it.each([
      ['a let', 'let calls = 0;', 'a module-level `let` (calls)'],
      ['an empty Map', 'const memo = new Map<string, number>();', 'a module-level mutable Map (memo)'],
      [
        'a WeakMap',
        'const byOwner = new WeakMap<object, string>();',
        'a module-level mutable WeakMap (byOwner)',
      ],
      [
        'a seeded Set it adds to',
        "const seen = new Set(['a']);\nseen.add('b');",
        'a module-level mutable Set (seen)',
      ],
      ['a memo', 'const f = memoize((s: string) => s);', 'a module-level memo (f = memoize(…))'],
      ['a singleton', 'const watch = new DeadlineWatch();', 'a module-level `new DeadlineWatch` (watch)'],
    ])('flags %s', (_what, text, problem) => {
      expect(flagged(text)).toEqual([`src/registry/x.ts:1: ${problem}`]);
    });

    it('lets immutable values stand, state inside functions and classes, and what the doc names', () => {
      const text = [
        "const KINDS: ReadonlySet<string> = new Set(['a', 'b']);",
        'const PATTERN = new RegExp("^a$");',
        'const LIMIT = 4;',
        'function f() { const m = new Map(); let n = 0; return [m, n]; }',
        'class C { readonly #m = new Map<string, number>(); }',
      ].join('\n');
      expect(flagged(text)).toEqual([]);
      expect(flagged('const byAgent = new WeakMap<object, string>();', 'src/registry/pools.ts')).toEqual([]);
      expect(flagged('const other = new WeakMap<object, string>();', 'src/registry/pools.ts')).toHaveLength(
        1,
      );
    });
  });
});
