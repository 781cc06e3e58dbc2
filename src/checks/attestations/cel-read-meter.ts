/**
 * The read meter of a CEL evaluation (cel.ts): the input, attacker-supplied JSON, is seen through
 * proxies that count every property read against the read budget and remember the last scalar values
 * read with their paths, for the denial message ("the values it saw").
 */
import { BudgetStop } from './cel-cost.js';

/** How many of the last values read a false condition reports, and how long each may be. */
const SEEN_VALUES = 4;
const SEEN_VALUE_CHARS = 80;
/** Of an excerpt: this many first characters, the rest from the end. */
const SEEN_HEAD_CHARS = 24;

class BudgetExceeded extends BudgetStop {}
/** One instance, thrown again on every read past the budget (see cel-cost.ts's EXCEEDED: why). */
const READS_EXCEEDED = new BudgetExceeded('read budget exceeded');

/** Where a value was read: its container's path and the key (paths are built only for messages). */
interface ReadPath {
  parent: ReadPath | string;
  key: string;
  index: boolean;
}

function pathText(p: ReadPath | string): string {
  if (typeof p === 'string') return p;
  return p.index ? `${pathText(p.parent)}[${p.key}]` : `${pathText(p.parent)}.${p.key}`;
}

/**
 * Counts reads of the wrapped input and remembers the last scalar values read, with their paths.
 * One proxy per input object (cached); paths and texts are built only when a message needs them.
 */
export class ReadMeter {
  #reads = 0;
  /** Ring buffer of the last SEEN_VALUES scalar reads. */
  readonly #last: { at: ReadPath; value: unknown }[] = [];
  #next = 0;
  readonly #proxies = new WeakMap<object, object>();
  exceeded = false;

  constructor(readonly budget: number) {}

  seen(): string[] {
    const n = this.#last.length;
    if (n === 0) return [];
    const start = this.#next % n;
    const ordered = [...this.#last.slice(start), ...this.#last.slice(0, start)];
    return ordered.map(({ at, value }) => {
      let text = JSON.stringify(value) ?? String(value);
      // Head and tail: the decisive part of a ref, URI or version is often at its end.
      if (text.length > SEEN_VALUE_CHARS)
        text = `${text.slice(0, SEEN_HEAD_CHARS)}…${text.slice(SEEN_HEAD_CHARS - SEEN_VALUE_CHARS)}`;
      return `${pathText(at)}=${text}`;
    });
  }

  /** Where each wrapped object was read from. */
  readonly #paths = new WeakMap<object, ReadPath | string>();
  /** One handler for every proxy of this evaluation (V8 keeps such proxies fast). */
  readonly #handler: ProxyHandler<object> = {
    get: (target, key, receiver) => {
      if (++this.#reads > this.budget) {
        this.exceeded = true;
        throw READS_EXCEEDED;
      }
      const v: unknown = Reflect.get(target, key, receiver);
      if (typeof key !== 'string' || typeof v === 'function') return v;
      if (typeof v === 'object') {
        return v === null ? v : this.#wrapChild(v, target, key);
      }
      if (key !== 'length') {
        const at = { parent: this.#paths.get(target) ?? '?', key, index: Array.isArray(target) };
        this.#last[this.#next++ % SEEN_VALUES] = { at, value: v };
      }
      return v;
    },
    has: (target, key) => {
      this.#reads += 1;
      return Reflect.has(target, key);
    },
    ownKeys: (target) => {
      const keys = Reflect.ownKeys(target);
      this.#reads += keys.length + 1;
      return keys;
    },
  };

  #wrapChild(value: object, parent: object, key: string): object {
    const cached = this.#proxies.get(value);
    if (cached !== undefined) return cached;
    const path = { parent: this.#paths.get(parent) ?? '?', key, index: Array.isArray(parent) };
    return this.#make(value, path);
  }

  #make(value: object, path: ReadPath | string): object {
    const proxy = new Proxy(value, this.#handler);
    this.#paths.set(value, path);
    this.#proxies.set(value, proxy);
    return proxy;
  }

  wrap(value: unknown, path: string): unknown {
    if (typeof value !== 'object' || value === null) return value;
    return this.#proxies.get(value) ?? this.#make(value, path);
  }
}
