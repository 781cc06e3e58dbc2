/**
 * The house rules of docs/architecture.md, read from the doc itself and checked against the code
 * (scripts/check-architecture.ts runs them; test/unit/scripts/architecture.test.ts proves each can fail):
 * - the folder table: which folder (or file) of src/ may import which, with "types of `x`" for type-only;
 * - the entry points: the only src/ files that may touch `process`;
 * - no file over MAX_LINES lines in src/, scripts/ and bench/;
 * - a barrel (`index.ts`) only re-exports;
 * - no module-level mutable state but the exceptions the doc names (module-state.ts).
 * Pure: files come in as (path, text) pairs, violations go out as strings.
 */
import ts from 'typescript';
import { checkModuleState } from './module-state.js';

export const MAX_LINES = 300;

/** What one row of the folder table lets its files import. */
export interface ImportRule {
  /** The row's key, relative to src/ without `.ts`: a folder (`kube`) or a file (`errors`, `evaluate/decision`). */
  readonly unit: string;
  readonly any: readonly string[];
  readonly typesOnly: readonly string[];
}

export interface HouseRules {
  readonly imports: readonly ImportRule[];
  /** src/-relative paths (with `.ts`) of the files allowed to touch `process`. */
  readonly entryPoints: readonly string[];
  /** src/-relative `file#name` of the module-level state the doc allows. */
  readonly moduleState: readonly string[];
}

export interface SourceFile {
  /** Repository-relative path with forward slashes, e.g. `src/kube/index.ts`. */
  readonly path: string;
  readonly text: string;
}

const TICKED = /`([^`]+)`/g;
const ENTRY_POINTS_LINE = /^Entry points \(the only files that touch `process`\):(.*)$/m;
const MODULE_STATE_LINE = /^Module-level state \(the only exceptions\):(.*)$/m;

function ticked(text: string): string[] {
  return [...text.matchAll(TICKED)].map((m) => m[1]!);
}

/** `kube/` → `kube`, `errors.ts` → `errors`, `policy/glob.ts` → `policy/glob`. */
function toUnit(token: string): string {
  return token.replace(/\/$/, '').replace(/\.ts$/, '');
}

/** Reads the folder table (`| \`folder/\` | holds | may import |`) and the entry-point line. */
export function parseHouseRules(doc: string): HouseRules {
  const section = doc.split(/^## /m).find((s) => s.startsWith('Folders and what each may import'));
  if (section === undefined)
    throw new Error('docs/architecture.md has no "## Folders and what each may import" section');
  const imports: ImportRule[] = [];
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    // A table row: '', key, holds, may import, ''.
    if (cells.length !== 5 || !cells[1]!.startsWith('`')) continue;
    const unit = toUnit(ticked(cells[1]!)[0]!);
    const any: string[] = [];
    const typesOnly: string[] = [];
    // "— never `x`" restates what the row leaves out: it grants nothing.
    const granted = cells[3]!.split(/\s*—\s*never\b/)[0]!;
    for (const item of granted.split(/,\s*/)) {
      if (/^nothing\b/.test(item)) continue;
      if (/^everything above\b/.test(item)) {
        any.push(...imports.map((r) => r.unit));
        continue;
      }
      (/^types of\b/.test(item) ? typesOnly : any).push(...ticked(item).map(toUnit));
    }
    imports.push({ unit, any, typesOnly });
  }
  const entry = ENTRY_POINTS_LINE.exec(doc);
  if (entry === null)
    throw new Error('docs/architecture.md has no "Entry points (the only files that touch `process`):" line');
  const entryPoints = ticked(entry[1]!).map((t) => (t.endsWith('.ts') ? t : `${t}.ts`));
  const state = MODULE_STATE_LINE.exec(doc);
  if (state === null)
    throw new Error('docs/architecture.md has no "Module-level state (the only exceptions):" line');
  return { imports, entryPoints, moduleState: ticked(state[1]!).filter((t) => t.includes('#')) };
}

/** One module reference in a file: its specifier and whether only types cross it. */
export interface ImportRef {
  readonly specifier: string;
  readonly typeOnly: boolean;
  readonly line: number;
}

function isTypeOnlyImport(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (clause === undefined) return false; // a side-effect import runs the module
  if (clause.isTypeOnly) return true;
  if (clause.name !== undefined) return false;
  const bindings = clause.namedBindings;
  return (
    bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.every((e) => e.isTypeOnly)
  );
}

function isTypeOnlyExport(node: ts.ExportDeclaration): boolean {
  if (node.isTypeOnly) return true;
  const clause = node.exportClause;
  return clause !== undefined && ts.isNamedExports(clause) && clause.elements.every((e) => e.isTypeOnly);
}

function parse(file: SourceFile): ts.SourceFile {
  return ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}

/** Every import/export-from/`import()` of a file, type-only ones marked. */
export function importsOf(file: SourceFile): ImportRef[] {
  const source = parse(file);
  const refs: ImportRef[] = [];
  const add = (node: ts.Node, specifier: ts.Expression | undefined, typeOnly: boolean): void => {
    if (specifier === undefined || !ts.isStringLiteral(specifier)) return;
    const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
    refs.push({ specifier: specifier.text, typeOnly, line });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) add(node, node.moduleSpecifier, isTypeOnlyImport(node));
    else if (ts.isExportDeclaration(node)) add(node, node.moduleSpecifier, isTypeOnlyExport(node));
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument))
      add(node, node.argument.literal, true);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node, node.arguments[0], false);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return refs;
}

/** `src/a/b.ts` importing `../c/d.js` → `c/d` (src/-relative, no extension); undefined outside src/. */
export function resolveInSrc(fromPath: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const parts = fromPath.split('/').slice(0, -1);
  for (const seg of specifier.split('/')) {
    if (seg === '..') parts.pop();
    else if (seg !== '.') parts.push(seg);
  }
  if (parts[0] !== 'src') return undefined;
  return parts
    .slice(1)
    .join('/')
    .replace(/\.(js|ts)$/, '');
}

function covers(token: string, target: string): boolean {
  return target === token || target.startsWith(`${token}/`);
}

/** The most specific row for a src/-relative module (a file row beats its folder's). */
export function ruleFor(rules: HouseRules, module: string): ImportRule | undefined {
  return rules.imports.filter((r) => covers(r.unit, module)).sort((a, b) => b.unit.length - a.unit.length)[0];
}

/** `kube/list` → `kube`, `checks/signature/verify` → `checks`, `errors` → `errors`. */
function folderOf(module: string): string {
  return module.split('/')[0]!;
}

/** Scoped packages some row names (`@kubernetes/client-node`): only rows that name them may import them. */
function restrictedPackages(rules: HouseRules): Set<string> {
  return new Set(rules.imports.flatMap((r) => [...r.any, ...r.typesOnly]).filter((t) => t.startsWith('@')));
}

export function checkImports(rules: HouseRules, file: SourceFile): string[] {
  const module = file.path.replace(/^src\//, '').replace(/\.ts$/, '');
  const rule = ruleFor(rules, module);
  if (rule === undefined)
    return [`${file.path}: no row of the folder table in docs/architecture.md covers this file`];
  const packages = restrictedPackages(rules);
  const problems: string[] = [];
  for (const ref of importsOf(file)) {
    const target = resolveInSrc(file.path, ref.specifier);
    const name = target ?? ref.specifier;
    if (target === undefined && !packages.has(ref.specifier)) continue;
    if (target !== undefined && folderOf(target) === folderOf(module)) continue;
    if (rule.any.some((t) => covers(t, name))) continue;
    if (ref.typeOnly && rule.typesOnly.some((t) => covers(t, name))) continue;
    const what = ref.typeOnly ? 'types of' : 'code of';
    problems.push(
      `${file.path}:${ref.line}: imports ${what} \`${name}\`, which the \`${rule.unit}\` row does not allow`,
    );
  }
  return problems;
}

/** `process.x`, `process[...]` or an import of node:process outside the entry points. */
export function checkProcess(rules: HouseRules, file: SourceFile): string[] {
  if (rules.entryPoints.includes(file.path.replace(/^src\//, ''))) return [];
  const source = parse(file);
  const problems: string[] = [];
  const at = (node: ts.Node): number => source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
  const visit = (node: ts.Node): void => {
    if (
      (ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node)) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'process'
    ) {
      problems.push(
        `${file.path}:${at(node)}: touches \`process\` outside the entry points docs/architecture.md names`,
      );
    } else if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      if (['process', 'node:process'].includes(node.moduleSpecifier.text)) {
        problems.push(`${file.path}:${at(node)}: imports node:process outside the entry points`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return problems;
}

export function checkLength(file: SourceFile): string[] {
  const lines = file.text.split('\n').length - (file.text.endsWith('\n') ? 1 : 0);
  return lines > MAX_LINES ? [`${file.path}: ${lines} lines, over the cap of ${MAX_LINES}`] : [];
}

/** An `index.ts` may hold only `export … from` statements (and comments). */
export function checkBarrel(file: SourceFile): string[] {
  if (!file.path.endsWith('/index.ts')) return [];
  const source = parse(file);
  return source.statements
    .filter((s) => !(ts.isExportDeclaration(s) && s.moduleSpecifier !== undefined))
    .map(
      (s) =>
        `${file.path}:${source.getLineAndCharacterOfPosition(s.getStart(source)).line + 1}: a barrel index.ts only re-exports (found ${ts.SyntaxKind[s.kind]})`,
    );
}

/** Every violation in a set of repository files (src/ files get every rule; scripts/ and bench/ the line cap). */
export function checkHouseRules(rules: HouseRules, files: readonly SourceFile[]): string[] {
  return files.flatMap((file) => [
    ...checkLength(file),
    ...(file.path.startsWith('src/') && file.path.endsWith('.ts')
      ? [
          ...checkImports(rules, file),
          ...checkProcess(rules, file),
          ...checkBarrel(file),
          ...checkModuleState(rules.moduleState, file),
        ]
      : []),
  ]);
}
