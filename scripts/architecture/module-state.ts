/**
 * No module-level mutable state in src/ (docs/architecture.md, "Rules that hold everywhere"): caches,
 * pools and timers belong to the server or engine that makes them, so two engines in one process share
 * nothing and a test can start afresh. At the top level of a module this flags a `let`/`var`, a
 * `new Map|Set|WeakMap|WeakSet` that the module writes to (or that starts empty), a `memoize(...)`, and
 * a `new` of anything but a known immutable value. The doc's "Module-level state" line names each
 * exception as `file#name`, with its reason.
 */
import ts from 'typescript';

/** Built-ins whose instances a module may hold: nothing in them changes after construction. */
const IMMUTABLE: ReadonlySet<string> = new Set(['RegExp', 'URL', 'TextEncoder', 'TextDecoder', 'Error']);
const COLLECTIONS: ReadonlySet<string> = new Set(['Map', 'Set', 'WeakMap', 'WeakSet']);

function unwrap(e: ts.Expression): ts.Expression {
  while (ts.isAsExpression(e) || ts.isSatisfiesExpression(e) || ts.isParenthesizedExpression(e))
    e = e.expression;
  return e;
}

function writtenTo(text: string, name: string): boolean {
  return new RegExp(`\\b${name}\\.(set|add|delete|clear)\\(`).test(text);
}

/** What is wrong with one top-level declaration, or undefined. */
function problemOf(decl: ts.VariableDeclaration, isConst: boolean, text: string): string | undefined {
  const name = ts.isIdentifier(decl.name) ? decl.name.text : decl.name.getText();
  if (!isConst) return `a module-level \`let\` (${name})`;
  if (decl.initializer === undefined) return undefined;
  const init = unwrap(decl.initializer);
  if (ts.isCallExpression(init) && ts.isIdentifier(init.expression) && init.expression.text === 'memoize')
    return `a module-level memo (${name} = memoize(…))`;
  if (!ts.isNewExpression(init)) return undefined;
  const made = init.expression.getText();
  if (COLLECTIONS.has(made)) {
    const seeded = (init.arguments?.length ?? 0) > 0;
    if (made.startsWith('Weak') || !seeded || writtenTo(text, name))
      return `a module-level mutable ${made} (${name})`;
    return undefined;
  }
  return IMMUTABLE.has(made) ? undefined : `a module-level \`new ${made}\` (${name})`;
}

/** `allowed`: src/-relative `file#name` of the module-level state the doc lets stand. */
export function checkModuleState(allowed: readonly string[], file: { path: string; text: string }): string[] {
  const module = file.path.replace(/^src\//, '');
  const source = ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const problems: string[] = [];
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    const list = statement.declarationList;
    const isConst = (list.flags & ts.NodeFlags.Const) !== 0;
    for (const decl of list.declarations) {
      if (allowed.includes(`${module}#${decl.name.getText(source)}`)) continue;
      const problem = problemOf(decl, isConst, file.text);
      if (problem === undefined) continue;
      const line = source.getLineAndCharacterOfPosition(decl.getStart(source)).line + 1;
      problems.push(
        `${file.path}:${line}: ${problem}: state belongs to the server or engine that makes it (docs/architecture.md)`,
      );
    }
  }
  return problems;
}
