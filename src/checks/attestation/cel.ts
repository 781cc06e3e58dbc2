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
/** How many of the last values read a false condition reports, and how long each may be. */
const SEEN_VALUES = 4;
const SEEN_VALUE_CHARS = 80;

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
  evaluate(input: ConditionInput, readBudget?: number): ConditionResult;
}

const environment = new Environment({
  limits: { maxAstNodes: MAX_CONDITION_AST_NODES, maxDepth: MAX_CONDITION_DEPTH },
})
  .registerVariable('predicate', 'dyn')
  .registerVariable('statement', 'map')
  .registerVariable('image', 'map')
  .registerVariable('now', 'google.protobuf.Timestamp');

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
    parsed = environment.parse(source);
  } catch (err) {
    throw new ConfigError(
      'POLICY_INVALID',
      `${where}: CEL syntax error${position(source, err)}: ${summary(err)}`,
      { cause: err },
    );
  }
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
  return {
    source,
    evaluate(input, readBudget = DEFAULT_READ_BUDGET) {
      const meter = new ReadMeter(readBudget);
      let value: unknown;
      try {
        value = parsed({
          predicate: meter.wrap(input.predicate, 'predicate'),
          statement: meter.wrap(input.statement, 'statement'),
          image: meter.wrap(input.image, 'image'),
          now: new Date(),
        });
      } catch (err) {
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

class BudgetExceeded extends Error {}

/**
 * Counts reads of the wrapped input and remembers the last scalar values read, with their paths.
 * One proxy per input object (cached), paths and texts built only when a message needs them.
 */
class ReadMeter {
  #reads = 0;
  /** Ring buffer of the last SEEN_VALUES scalar reads. */
  readonly #last: { path: string; key: string; value: unknown }[] = [];
  #next = 0;
  readonly #proxies = new WeakMap<object, object>();
  exceeded = false;

  constructor(readonly budget: number) {}

  #count(n: number): void {
    this.#reads += n;
    if (this.#reads > this.budget) {
      this.exceeded = true;
      throw new BudgetExceeded('read budget exceeded');
    }
  }

  seen(): string[] {
    const n = this.#last.length;
    if (n === 0) return [];
    const ordered = [...this.#last.slice(this.#next % n), ...this.#last.slice(0, this.#next % n)];
    return ordered.map(({ path, key, value }) => {
      let text = JSON.stringify(value) ?? String(value);
      if (text.length > SEEN_VALUE_CHARS) text = `${text.slice(0, SEEN_VALUE_CHARS)}…`;
      return `${/^[0-9]+$/.test(key) ? `${path}[${key}]` : `${path}.${key}`}=${text}`;
    });
  }

  wrap(value: unknown, path: string): unknown {
    if (typeof value !== 'object' || value === null) return value;
    const cached = this.#proxies.get(value);
    if (cached !== undefined) return cached;
    const last = this.#last;
    const proxy = new Proxy(value, {
      get: (target, key, receiver) => {
        this.#count(1);
        const v: unknown = Reflect.get(target, key, receiver);
        if (typeof key !== 'string') return v;
        if (typeof v === 'object' && v !== null) {
          return Object.hasOwn(target, key)
            ? this.wrap(v, /^[0-9]+$/.test(key) ? `${path}[${key}]` : `${path}.${key}`)
            : v;
        }
        if (key !== 'length' && typeof v !== 'function') {
          last[this.#next++ % SEEN_VALUES] = { path, key, value: v };
        }
        return v;
      },
      has: (target, key) => {
        this.#count(1);
        return Reflect.has(target, key);
      },
      ownKeys: (target) => {
        const keys = Reflect.ownKeys(target);
        this.#count(keys.length + 1);
        return keys;
      },
    });
    this.#proxies.set(value, proxy);
    return proxy;
  }
}
