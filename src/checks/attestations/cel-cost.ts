/**
 * What a CEL condition may cost, before and while it runs (issue 20, property 3).
 *
 * Before: `estimateCost(ast, n)` walks the parsed AST with every input-derived collection or string
 * of size `n` and counts what evaluation does: each node, each element of a literal collection, each
 * element `in` scans, the characters `contains()`/`startsWith()`/`matches()` read, and loop bodies
 * once per element of what they iterate, nested loops multiplying. With n = 1 it is the cost of the
 * condition's own literals: a condition whose literals alone exceed the step budget is refused at load.
 *
 * While: `StepMeter` is charged by the library's evaluator on every node it evaluates (`ev.run`), one
 * step plus the length of the list, string or map the node produced: `x in b` inside a loop over `a`
 * is charged |a|·|b|, a loop over a literal list its elements. It runs on every evaluation, the
 * passing ones too, and throws past the budget: CONDITION_COST_EXCEEDED, a finding, never allowed.
 * Comparisons (`==`, `!=`, `x in list`) are charged the nested size of what they compare, and the
 * budget's stop leaves a loop at once (not one caught error per remaining element).
 */

import { deepSize } from './cel-deep-size.js';

/**
 * Steps one evaluation may take: ~40 ms of CPU at most on the shared 2-core VM under load
 * (bench/event-loop.ts; 2,000,000 took up to 160 ms): a linear scan of ~50,000 SBOM packages.
 */
export const DEFAULT_STEP_BUDGET = 500_000;

/** Steps charged per element of a list or map a node produces (per character of a long string: 1). */
export const ELEMENT_STEPS = 1;

/** Comprehension macros: each runs its body once per element of its receiver. */
export const COMPREHENSIONS = new Set(['all', 'exists', 'exists_one', 'existsOne', 'map', 'filter']);
/** Functions whose work is linear in their receiver's and arguments' lengths. */
const SCANS = new Set(['contains', 'startsWith', 'endsWith', 'matches', 're2Matches', 'split', 'join']);
/** Operators that return a value a child already produced (charged there) or a small result. */
const UNCHARGED = new Set(['accuPush', 'accuValue', 'accuInc', '?:', '&&', '||']);
const INPUTS = new Set(['predicate', 'statement', 'image']);

interface Node {
  op: string;
  args: unknown;
}

interface Estimate {
  cost: number;
  /** Elements or characters of the value (an upper bound). */
  size: number;
  /** The size of each of its elements, when it is a collection. */
  elem?: number;
}

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && 'op' in v;
}

function valueSize(v: unknown): number {
  if (typeof v === 'string') return v.length;
  return 1;
}

/** Cost of evaluating `ast` once when every input collection or string has `n` elements or characters. */
export function estimateCost(ast: unknown, n: number): number {
  const vars = new Map<string, number>();
  const est = (node: unknown): Estimate => {
    if (!isNode(node)) return { cost: 0, size: 0 };
    const { op, args } = node;
    const list = Array.isArray(args) ? (args as unknown[]) : [];
    switch (op) {
      case 'value':
        return { cost: 1, size: valueSize(args) };
      case 'id': {
        const name = String(args);
        return { cost: 1, size: vars.get(name) ?? (INPUTS.has(name) ? n : 1) };
      }
      case 'list':
      case 'map': {
        let cost = 1;
        let size = 0;
        let elem = 1;
        for (const e of list) {
          const parts = Array.isArray(e) ? e.map(est) : [est(e)];
          for (const p of parts) {
            cost += p.cost + 1;
            elem = Math.max(elem, p.size);
          }
          size += 1;
        }
        return { cost: cost + size, size, elem };
      }
      case 'rcall': {
        const [name, receiver, callArgs] = list as [string, unknown, unknown[]];
        const recv = est(receiver);
        if (COMPREHENSIONS.has(name) && Array.isArray(callArgs)) {
          const iter = callArgs[0];
          const varName = isNode(iter) && iter.op === 'id' ? String(iter.args) : '';
          const saved = vars.get(varName);
          vars.set(varName, recv.elem ?? recv.size);
          const bodies = callArgs.slice(1).map(est);
          if (saved === undefined) vars.delete(varName);
          else vars.set(varName, saved);
          const body = bodies.reduce((a, b) => ({ cost: a.cost + b.cost, size: Math.max(a.size, b.size) }), {
            cost: 1,
            size: 1,
          });
          const size =
            name === 'map' ? recv.size * Math.max(1, body.size) : name === 'filter' ? recv.size : 1;
          return { cost: recv.cost + recv.size * (body.cost + 1) + size, size };
        }
        return call(name, [recv, ...(Array.isArray(callArgs) ? callArgs.map(est) : [])]);
      }
      case 'call': {
        const [name, callArgs] = list as [string, unknown[]];
        return call(name, Array.isArray(callArgs) ? callArgs.map(est) : []);
      }
      case 'in': {
        const [a, b] = list.map(est) as [Estimate, Estimate];
        return { cost: 1 + a.cost + b.cost + b.size, size: 1 };
      }
      case '?:': {
        const [c, a, b] = list.map(est) as [Estimate, Estimate, Estimate];
        return { cost: 1 + c.cost + Math.max(a.cost, b.cost), size: Math.max(a.size, b.size) };
      }
      default: {
        const parts = (Array.isArray(args) ? args : [args]).map(est);
        const cost = parts.reduce((s, p) => s + p.cost, 1);
        // `+` concatenates (and copies), `.`/`[]` select from what may be input (as big as it).
        if (op === '+') {
          const size = parts.reduce((s, p) => s + p.size, 0);
          return { cost: cost + size, size };
        }
        if (op === '.' || op === '.?' || op === '[]' || op === '[?]') {
          const from = parts[0];
          return { cost, size: from?.elem ?? from?.size ?? 1 };
        }
        return { cost, size: 1 };
      }
    }
  };
  const call = (name: string, parts: Estimate[]): Estimate => {
    const inputs = parts.reduce((s, p) => s + p.size, 0);
    const cost = parts.reduce((s, p) => s + p.cost, 1) + inputs;
    if (name === 'size' || SCANS.has(name)) return { cost, size: name === 'split' ? inputs : 1 };
    return { cost, size: Math.max(1, ...parts.map((p) => p.size)) };
  };
  return est(ast).cost;
}

/** A meter's stop (steps here, reads in cel.ts): not a CEL error, it ends the whole evaluation. */
export class BudgetStop extends Error {}

/** Thrown by the meter through the library's evaluator; cel.ts turns it into CONDITION_COST_EXCEEDED. */
export class StepBudgetExceeded extends BudgetStop {}

/**
 * One instance, thrown again on every step past the budget: `all()`/`exists()` catch errors of their
 * body and go on with the next element (CEL's error semantics), so each remaining element throws
 * once; a new Error each time (its stack trace) cost ~10 µs apiece: 60,000 elements, 0.6 s.
 */
const EXCEEDED = new StepBudgetExceeded('step budget exceeded');

/** Steps per entry of a map `k in map` scans (measured ~8× an ordinary step: bench/event-loop.ts). */
const MAP_KEY_STEPS = 8;
/** Operators that compare their operands element by element, however deeply nested. */
const DEEP_COMPARES = new Set(['==', '!=', 'in']);

/** Counts evaluation steps; `charge` runs on every node the evaluator evaluates. */
export class StepMeter {
  steps = 0;
  exceeded = false;
  /** Deep sizes of the lists and maps compared so far (cel-deep-size.ts). */
  readonly #sizes = new WeakMap<object, number>();
  constructor(readonly budget: number) {}

  /**
   * `==`/`!=` compare nested lists and maps element by element, `x in list` compares `x` with each
   * element so, and `k in map` scans the map's keys: a charge by the top-level length let `c.all(x, a == b)` over two 1000×1000
   * lists take 6 s of CPU within the budget. Charged after the comparison ran (once past the budget,
   * one comparison at most, bounded by the input's size).
   */
  chargeCompare(op: string, left: unknown, right: unknown): void {
    if (!DEEP_COMPARES.has(op)) return;
    const size = (v: unknown): number => deepSize(this.#sizes, this.budget - this.steps + 1, v);
    let n: number;
    if (op !== 'in') n = Math.min(size(left), size(right));
    // `k in map` is no hash lookup in the library: 10,000 lookups in a 10,000-key map took 9.5 s
    // (each key costs ~100 ns, several steps' worth: charged MAP_KEY_STEPS)
    else if (Array.isArray(right)) n = size(right);
    else n = typeof right === 'object' && right !== null ? size(right) * MAP_KEY_STEPS : 0;
    if (n <= 1) return;
    this.steps += n;
    if (this.steps > this.budget) {
      this.exceeded = true;
      throw EXCEEDED;
    }
  }

  charge(op: string, value: unknown): void {
    let n = 1;
    if (typeof value === 'object' && value !== null) {
      if (Array.isArray(value)) {
        if (!UNCHARGED.has(op)) n += value.length * ELEMENT_STEPS;
      } else if (value instanceof Map || value instanceof Set) n += value.size * ELEMENT_STEPS;
    } else if (typeof value === 'string' && value.length > 64) n += value.length;
    this.steps += n;
    if (this.steps > this.budget) {
      this.exceeded = true;
      throw EXCEEDED;
    }
  }
}

interface NodeEval {
  evaluate(ev: Evaluator, ast: unknown, ctx: unknown): unknown;
}

interface Evaluator {
  run(ast: Node, ctx: unknown): unknown;
  /** The library's error-catching run, used by comprehension steps and `&&`/`||` (CEL's error semantics). */
  tryEval(ast: Node, ctx: unknown): unknown;
}

/** What `installStepMeter` needs of the library: parse an expression into something callable. */
type Parse = (source: string) => { ast: unknown; (context: Record<string, unknown>): unknown };

/**
 * Routes every node evaluation of an Environment's evaluator through the current meter (none:
 * unmetered). The library hands its one evaluator per Environment to the root node's `evaluate` and
 * recurses through `ev.run`: a trivial expression is evaluated once with its root wrapped, to reach
 * the evaluator and replace its `run`. Evaluation is synchronous (no async functions are
 * registered), so one meter at a time is current: the returned function sets it around a run.
 */
export function installStepMeter(parse: Parse): (meter: StepMeter, run: () => unknown) => unknown {
  let currentMeter: StepMeter | undefined;
  let depth = 0;
  const last: unknown[] = [];
  const previous: unknown[] = [];
  const current = (): StepMeter | undefined => currentMeter;
  const probe = parse('true');
  const root = probe.ast as { evaluate: (ev: Evaluator, ast: unknown, ctx: unknown) => unknown };
  const evaluate = root.evaluate.bind(root);
  let installed = false;
  root.evaluate = (ev, ast, ctx) => {
    // As the library's own run (`ast.evaluate(this, ast, ctx)`), then the charge: no bound call in
    // between, this is on every node of every evaluation.
    ev.run = (n, c) => {
      const meter = current();
      // Past the budget nothing more is evaluated.
      if (meter?.exceeded === true) throw EXCEEDED;
      if (meter === undefined) return (n as unknown as NodeEval).evaluate(ev, n, c);
      // The last two values produced at each depth: a binary node's operands, for chargeCompare.
      depth++;
      let value: unknown;
      try {
        value = (n as unknown as NodeEval).evaluate(ev, n, c);
      } finally {
        depth--;
      }
      if (DEEP_COMPARES.has(n.op)) meter.chargeCompare(n.op, previous[depth + 1], last[depth + 1]);
      meter.charge(n.op, value);
      previous[depth] = last[depth];
      last[depth] = value;
      return value;
    };
    // `all()`/`exists()` evaluate each element's step through tryEval, which turns an error into a
    // value and goes on: past the budget that was one throw and catch per remaining element (60,000
    // elements: ~150 ms). The budget's error is not a CEL error: it leaves the loop at once.
    ev.tryEval = (n, c) => {
      try {
        return ev.run(n, c);
      } catch (err) {
        if (err instanceof BudgetStop) throw err;
        return err;
      }
    };
    installed = true;
    return evaluate(ev, ast, ctx);
  };
  probe({});
  // Fail at start-up, not silently unmetered, if the library changes how it evaluates.
  if (!installed) throw new Error('CEL library: cannot install the step meter (evaluator not reached)');
  /** Runs `run` (one evaluation) with `meter` charged for every step. */
  return (meter, run) => {
    currentMeter = meter;
    depth = 0;
    try {
      return run();
    } finally {
      currentMeter = undefined;
      // hold no value of the input past its evaluation
      last.length = 0;
      previous.length = 0;
    }
  };
}
