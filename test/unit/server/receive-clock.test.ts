/**
 * The shared receive clock of request bodies (server/receive-clock.ts): each deadline cuts its body
 * once, within one tick, and no timer is left once no body is being received. The bounds themselves
 * are attacked over real sockets in test/integration/body-budget.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ReceiveClock, type Receiving } from '../../../src/server/receive-clock.js';

const DEADLINES = { receiveTimeoutMs: 10_000, firstByteTimeoutMs: 500, minBytesPerSecond: 1_000 };

function body(cuts: string[], name: string): Receiving {
  return {
    started: performance.now(),
    received: 0,
    windowStart: 0,
    windowBytes: 0,
    cut: (why) => cuts.push(`${name}: ${why}`),
  };
}

/** Bytes arriving now, as the body budget's counter records them. */
function arrive(b: Receiving, bytes: number): void {
  if (b.received === 0) b.windowStart = performance.now();
  b.received += bytes;
  b.windowBytes += bytes;
}

describe('ReceiveClock', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('cuts a body without a first byte and one under the minimum rate, each once, and spares a steady one', () => {
    const clock = new ReceiveClock(DEADLINES);
    const cuts: string[] = [];
    const silent = body(cuts, 'silent');
    const slow = body(cuts, 'slow');
    const steady = body(cuts, 'steady');
    for (const b of [silent, slow, steady]) clock.add(b);
    arrive(slow, 100);
    for (let t = 0; t < 30; t++) {
      arrive(steady, 200); // 4,000 bytes/s
      vi.advanceTimersByTime(50);
    }
    expect(cuts).toEqual([
      'silent: no byte of the request body arrived within 500 ms',
      expect.stringMatching(/^slow: the request body arrived at \d+ bytes\/s, under the minimum of 1000$/),
    ]);
    expect(clock.size).toBe(1);
  });

  it('cuts a body at the whole-body deadline even when it keeps the rate', () => {
    const clock = new ReceiveClock(DEADLINES);
    const cuts: string[] = [];
    const b = body(cuts, 'long');
    clock.add(b);
    for (let t = 0; t < 220; t++) {
      arrive(b, 100); // 2,000 bytes/s
      vi.advanceTimersByTime(50);
    }
    expect(cuts).toEqual(['long: the request body did not arrive whole within 10000 ms']);
  });

  it('leaves no timer once no body is being received, and starts one again for the next', () => {
    const clock = new ReceiveClock(DEADLINES);
    const cuts: string[] = [];
    const b = body(cuts, 'done');
    clock.add(b);
    expect(vi.getTimerCount()).toBe(1);
    clock.delete(b);
    vi.advanceTimersByTime(100);
    expect(vi.getTimerCount()).toBe(0);
    clock.add(body(cuts, 'next'));
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(cuts).toEqual(['next: no byte of the request body arrived within 500 ms']);
    expect(vi.getTimerCount()).toBe(0);
  });
});
