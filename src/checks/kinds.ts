/**
 * The checks there are: one entry per check kind, in the order their findings are reported. Each
 * entry owns its policy section `spec.<name>`: the ImagePolicy schema (and so the CRD), `CheckName`,
 * policy validation and the policy compiler all follow from this list. A new check is one new module
 * exporting `defineCheck({...})` plus one entry here.
 */
import type { Static, TOptional } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import { attestationsCheck } from './attestations/check.js';
import { baseCheck } from './base/check.js';
import type { Check, CheckDeps, CompileContext } from './check.js';
import { signatureCheck } from './signature/check.js';
import { sizeCheck } from './size.js';

export const CHECK_KINDS = [signatureCheck, sizeCheck, baseCheck, attestationsCheck] as const;

type Kind = (typeof CHECK_KINDS)[number];

/** A policy section owned by a check: `signature`, `size`, `base`, `attestations`. */
export type CheckKindName = Kind['name'];

/** Every check a finding can come from: the evaluator's own steps, then the table's. */
export type CheckName = 'reference' | 'digest' | 'resolve' | CheckKindName;

/** The spec type of the section named `N`. */
export type SectionSpec<N extends CheckKindName> = Static<Extract<Kind, { name: N }>['schema']>;

/** The check sections' schema pieces, for ImagePolicySpec. */
export type CheckSectionSchemas = { [K in Kind as K['name']]: TOptional<K['schema']> };

export function checkSectionSchemas(): CheckSectionSchemas {
  const sections: Record<string, TOptional<Kind['schema']>> = {};
  for (const kind of CHECK_KINDS) sections[kind.name] = Type.Optional(kind.schema);
  // Built from the same tuple the mapped type reads; TypeScript cannot follow the loop.
  return sections as CheckSectionSchemas;
}

/** Semantic problems of a schema-valid spec's check sections, e.g. `spec.size: set maxCompressed…`. */
export function checkSectionProblems(sections: Readonly<Record<string, unknown>>): string[] {
  const problems: string[] = [];
  for (const kind of CHECK_KINDS) {
    const section = sections[kind.name];
    if (section === undefined || kind.problems === undefined) continue;
    // Schema-valid: the section has this kind's type.
    problems.push(...(kind.problems as (s: unknown, w: string) => string[])(section, `spec.${kind.name}`));
  }
  return problems;
}

/** One compiler per section; absent means this build cannot run that check (tests script their own). */
export type CheckCompilers = {
  [N in CheckKindName]?: (spec: SectionSpec<N>, ctx: CompileContext) => Check<N>;
};

/** The compilers of every check in the table, with the process's dependencies bound. */
export function checkCompilers(deps: CheckDeps): Required<CheckCompilers> {
  const compilers: Record<string, (spec: unknown, ctx: CompileContext) => Check<CheckKindName>> = {};
  for (const kind of CHECK_KINDS) {
    // Each compiler is called with its own section only (compile.ts looks it up by the kind's name).
    const compile = kind.compile as (
      spec: unknown,
      ctx: CompileContext,
      deps: CheckDeps,
    ) => Check<CheckKindName>;
    compilers[kind.name] = (spec, ctx) => compile(spec, ctx, deps);
  }
  return compilers as Required<CheckCompilers>;
}
