import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  budgetFor,
  DEADLINE_TICK_MS,
  DeadlineWatch,
  MAX_TIMEOUT_MS,
  parseTimeout,
} from '../../../src/review/deadline.js';

describe('parseTimeout', () => {
  describe('when the API server sends a Go duration', () => {
    it.each([
      ['10s', 10_000],
      ['1.5s', 1_500],
      ['500ms', 500],
      ['1m', 30_000],
      ['30s', 30_000],
    ])('reads %s as %d ms (capped at the 30 s maximum)', (value, ms) => {
      expect(parseTimeout(value)).toBe(ms);
    });
  });

  describe('when the value is absent or malformed', () => {
    it.each([undefined, '', '10', 's', '-1s', '0s', '1h', '10 s', ['10s'], 10])('ignores %j', (value) => {
      expect(parseTimeout(value)).toBeUndefined();
    });
  });

  it('never exceeds the maximum', () => {
    expect(parseTimeout('99999999s')).toBe(MAX_TIMEOUT_MS);
  });
});

describe('budgetFor', () => {
  it('keeps a margin of 10% for long timeouts', () => {
    expect(budgetFor(10_000)).toBe(9_000);
    expect(budgetFor(30_000)).toBe(27_000);
  });
  it('keeps at least 500 ms for short timeouts', () => {
    expect(budgetFor(2_000)).toBe(1_500);
    expect(budgetFor(1_000)).toBe(500);
  });
  it('never drops below 100 ms', () => {
    expect(budgetFor(300)).toBe(100);
  });
});

/** Watches one review; `fired` gets `${name}budget` and `${name}stop` as each fires. */
const watchInto = (watch: DeadlineWatch, fired: string[], budget: number, stop: number, name = '') =>
  watch.watch(
    budget,
    stop,
    () => fired.push(`${name}budget`),
    () => fired.push(`${name}stop`),
  );

describe('DeadlineWatch', () => {
  /** A watch on a hand-driven clock; ticks come from vitest's fake timers. */
  function setup() {
    vi.useFakeTimers();
    let now = 0;
    const watch = new DeadlineWatch(() => now);
    const advance = (ms: number): void => {
      now += ms;
      vi.advanceTimersByTime(ms);
    };
    return { watch, advance };
  }
  afterEach(() => {
    vi.useRealTimers();
  });

  it('aborts a running review at its budget and stops it at its hard stop, each once', () => {
    const { watch, advance } = setup();
    const fired: string[] = [];
    watchInto(watch, fired, 100, 150);
    advance(80);
    expect(fired).toEqual([]);
    advance(40); // 120: past the budget (within one tick)
    expect(fired).toEqual(['budget']);
    advance(60); // 180: past the hard stop
    expect(fired).toEqual(['budget', 'stop']);
    advance(200);
    expect(fired).toEqual(['budget', 'stop']);
    expect(watch.size).toBe(0);
  });

  it('fires nothing for a review that ended, and forgets it', () => {
    const { watch, advance } = setup();
    const fired: string[] = [];
    const done = watchInto(watch, fired, 100, 150);
    advance(DEADLINE_TICK_MS);
    done();
    advance(DEADLINE_TICK_MS);
    expect(watch.size).toBe(0);
    advance(500);
    expect(fired).toEqual([]);
    expect(vi.getTimerCount()).toBe(0); // no timer left once nothing is watched
  });

  it('keeps each budget in order: a long review does not delay a short one', () => {
    const { watch, advance } = setup();
    const fired: string[] = [];
    watchInto(watch, fired, 1000, 1500, 'long ');
    const ended = watchInto(watch, fired, 50, 75, 'short ');
    advance(100);
    expect(fired).toEqual(['short budget', 'short stop']);
    ended();
    advance(1000);
    expect(fired).toEqual(['short budget', 'short stop', 'long budget']);
    advance(500);
    expect(fired).toEqual(['short budget', 'short stop', 'long budget', 'long stop']);
  });

  it('drops ended reviews behind a running one once it ends', () => {
    const { watch, advance } = setup();
    const first = watch.watch(
      1000,
      1500,
      () => undefined,
      () => undefined,
    );
    for (let i = 0; i < 100; i++)
      watch.watch(
        1000,
        1500,
        () => undefined,
        () => undefined,
      )();
    advance(DEADLINE_TICK_MS);
    expect(watch.size).toBe(101); // held behind the first, which still runs
    first();
    advance(DEADLINE_TICK_MS);
    expect(watch.size).toBe(0);
  });
});
