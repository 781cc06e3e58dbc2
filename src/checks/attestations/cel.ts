/**
 * The one module that talks to the CEL library (@marcbachmann/cel-js; docs/attestations.md says why).
 * Conditions are parsed and type-checked when the policy loads (a syntax or type error is a policy
 * error naming the field and the line:column); evaluation is then bounded by a read budget: the
 * input (attacker-supplied JSON) is seen through proxies that count every property read, so a
 * quadratic comprehension over a large SBOM stops with CONDITION_COST_EXCEEDED instead of stalling
 * the event loop. The last scalar values read are kept for denial messages ("the values it saw").
 */
import { Environment, type ParseResult } from '@marcbachmann/cel-js';
import { ConfigError, errorMessage } from '../../errors.js';
import { RE2_MATCHES, toRe2Matches, type Re2Matcher } from './cel-matches.js';
import { DEFAULT_STEP_BUDGET, estimateCost, installStepMeter, StepMeter } from './cel-cost.js';
import { ReadMeter } from './cel-read-meter.js';

/** Longest condition accepted (the schema says the same). */
export const MAX_CONDITION_LENGTH = 4096;
/** Parse-time bounds: AST nodes and nesting depth. */
export const MAX_CONDITION_AST_NODES = 1000;
export const MAX_CONDITION_DEPTH = 32;
/**
 * Property reads of the input one evaluation may make. A linear scan of an SBOM with 100,000
 * packages reading two fields each is ~300,000 reads; a nested scan of the same (10^10 reads) is
 * stopped at the budget, under a second of CPU on a slow shared core (bench/ measures it).
 */
export const DEFAULT_READ_BUDGET = 1_000_000;
/**
 * Steps after which a condition that did not hold is not evaluated again under the read meter to
 * list the values it read (its proxies make each step ~20× dearer): past this, the denial names the
 * condition without them. ~5–15 ms of CPU for the re-run at most (bench/event-loop.ts).
 */
export const RERUN_STEP_LIMIT = 50_000;

export interface ConditionImage {
  /** The image reference as admitted (normalised). */
  reference: string;
  /** The digest the reference resolved to. */
  digest: string;
  /** `os/arch[/variant]` of the checked platform manifest, or `index` for a multi-arch image. */
  platform: string;
}

export interface ConditionInput {
  predicate: unknown;
  statement: unknown;
  image: ConditionImage;
}

export type ConditionResult =
  | { ok: true; value: boolean; seen: string[] }
  | { ok: false; code: 'CONDITION_ERROR' | 'CONDITION_COST_EXCEEDED'; message: string };

export interface CompiledCondition {
  readonly source: string;
  evaluate(input: ConditionInput, readBudget?: number, stepBudget?: number): ConditionResult;
}

/**
 * The CEL environment of one compiled condition: its own `matches()` (its matcher holds the
 * condition's patterns) and its own step meter, so two conditions — or two engines — share no
 * state. Made once per condition, at load.
 */
function createEnvironment(matcher: Re2Matcher | undefined): Environment {
  const re2 = (s: string, p: string): boolean => {
    // Only load-time parsing and type-checking use the environment without a matcher: nothing runs.
    if (matcher === undefined) throw new Error('matches() evaluated without a compiled condition');
    return matcher.matches(s, p);
  };
  return (
    new Environment({
      limits: { maxAstNodes: MAX_CONDITION_AST_NODES, maxDepth: MAX_CONDITION_DEPTH },
    })
      .registerVariable('predicate', 'dyn')
      .registerVariable('statement', 'map')
      .registerVariable('image', 'map')
      .registerVariable('now', 'google.protobuf.Timestamp')
      // `matches` calls are renamed to these at load: RE2 semantics, linear time (cel-matches.ts).
      .registerFunction(`string.${RE2_MATCHES}(string): bool`, re2)
      .registerFunction(`${RE2_MATCHES}(string, string): bool`, re2)
  );
}

/** Parses and type-checks at load; never evaluates (immutable once made). */
const checking = createEnvironment(undefined);

function costExceeded(budget: number): ConditionResult {
  const message = `evaluation stopped after ${budget} steps (the step budget: loops, \`in\`, string scans)`;
  return { ok: false, code: 'CONDITION_COST_EXCEEDED', message };
}

interface CelErrorShape {
  summary?: unknown;
  range?: { start?: unknown };
}

/** `line 1, column 31` of a CEL error, when the library says where. */
function position(source: string, err: unknown): string {
  const start = (err as CelErrorShape | undefined)?.range?.start;
  if (typeof start !== 'number') return '';
  const before = source.slice(0, start);
  const line = before.split('\n').length;
  const column = start - before.lastIndexOf('\n');
  return ` at line ${line}, column ${column}`;
}

function summary(err: unknown): string {
  const s = (err as CelErrorShape | undefined)?.summary;
  return typeof s === 'string' ? s : (errorMessage(err).split('\n')[0] ?? 'unknown error');
}

/** Compiles `source`; `where` names the document and field (`policy "p" attestations[0].condition`). */
export function compileCondition(source: string, where: string): CompiledCondition {
  if (source.length > MAX_CONDITION_LENGTH) {
    throw new ConfigError(
      'POLICY_INVALID',
      `${where}: condition of ${source.length} characters exceeds ${MAX_CONDITION_LENGTH}`,
    );
  }
  let parsed: ParseResult;
  try {
    parsed = checking.parse(source);
  } catch (err) {
    throw new ConfigError(
      'POLICY_INVALID',
      `${where}: CEL syntax error${position(source, err)}: ${summary(err)}`,
      { cause: err },
    );
  }
  const re2 = toRe2Matches(source, parsed.ast);
  if ('problem' in re2) throw new ConfigError('POLICY_INVALID', `${where}: ${re2.problem}`);
  if (re2.source !== source) parsed = checking.parse(re2.source);
  const checked = parsed.check();
  if (!checked.valid) {
    throw new ConfigError(
      'POLICY_INVALID',
      `${where}: CEL type error${position(source, checked.error)}: ${summary(checked.error)}`,
      { cause: checked.error },
    );
  }
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    throw new ConfigError(
      'POLICY_INVALID',
      `${where}: condition has type ${checked.type ?? 'unknown'}; it must be bool`,
    );
  }
  // The condition's own literals (loops over literal lists, `in` on them, long strings) cost this
  // much whatever the input: over the step budget it could never pass, so it is refused now.
  const literalCost = estimateCost(parsed.ast, 1);
  if (literalCost > DEFAULT_STEP_BUDGET) {
    throw new ConfigError(
      'POLICY_INVALID',
      `${where}: condition too costly: its literals alone cost an estimated ${literalCost} steps ` +
        `(loops over literal lists, \`in\`, string scans), over the budget of ${DEFAULT_STEP_BUDGET} per evaluation`,
    );
  }
  // The condition's own environment, matcher and step meter (createEnvironment: why).
  const environment = createEnvironment(re2.matcher);
  const metered = installStepMeter((text) => environment.parse(text));
  const run = environment.parse(re2.source);
  return {
    source,
    evaluate(input, readBudget = DEFAULT_READ_BUDGET, stepBudget = DEFAULT_STEP_BUDGET) {
      // First on the plain input, bounded by the step meter alone (the read meter's proxies make
      // evaluation ~20× slower): a condition over the step budget stops here within milliseconds.
      // Only a result other than true runs again under the read meter, for the values it read.
      {
        const steps = new StepMeter(stepBudget);
        try {
          const value = metered(steps, () => run({ ...input, now: new Date() }));
          if (value === true) return { ok: true, value: true, seen: [] };
          // A long evaluation is not run again for the values it read: under the read meter it
          // would cost ~20× its steps in one synchronous stretch (100,000 packages: ~300 ms of CPU).
          if (steps.steps > RERUN_STEP_LIMIT && typeof value === 'boolean')
            return { ok: true, value, seen: [] };
        } catch (err) {
          if (steps.exceeded) return costExceeded(stepBudget);
          if (steps.steps > RERUN_STEP_LIMIT)
            return { ok: false, code: 'CONDITION_ERROR', message: `evaluation failed: ${summary(err)}` };
          // The metered run below reports the error.
        }
      }
      const meter = new ReadMeter(readBudget);
      const steps = new StepMeter(stepBudget);
      let value: unknown;
      try {
        value = metered(steps, () =>
          run({
            predicate: meter.wrap(input.predicate, 'predicate'),
            statement: meter.wrap(input.statement, 'statement'),
            image: meter.wrap(input.image, 'image'),
            now: new Date(),
          }),
        );
      } catch (err) {
        if (steps.exceeded) return costExceeded(stepBudget);
        if (meter.exceeded) {
          return {
            ok: false,
            code: 'CONDITION_COST_EXCEEDED',
            message: `evaluation stopped after ${readBudget} reads of its input (the read budget)`,
          };
        }
        return { ok: false, code: 'CONDITION_ERROR', message: `evaluation failed: ${summary(err)}` };
      }
      if (typeof value !== 'boolean') {
        return { ok: false, code: 'CONDITION_ERROR', message: `evaluated to ${typeof value}, not bool` };
      }
      return { ok: true, value, seen: meter.seen() };
    },
  };
}
