import { describe, expect, it } from 'vitest';
import { RegistryError } from '../../../src/errors.js';
import { limitsFrom, ReviewBytes, Semaphore } from '../../../src/registry/limits.js';

const never = new AbortController().signal;
const refused = (): Error => new RegistryError('BUDGET_CONNECTIONS', 'refused');

describe('Semaphore', () => {
  it('grants up to its capacity and queues the rest in order', async () => {
    const s = new Semaphore(2);
    await s.acquire(1, never, refused);
    await s.acquire(1, never, refused);
    const order: number[] = [];
    const third = s.acquire(1, never, refused).then(() => order.push(3));
    const fourth = s.acquire(1, never, refused).then(() => order.push(4));
    expect(s.tryAcquire(1)).toBe(false);
    s.release(1);
    s.release(1);
    await Promise.all([third, fourth]);
    expect(order).toEqual([3, 4]);
    expect(s.used).toBe(2);
  });

  it('rejects a waiter with the budget error when its signal aborts, and forgets it', async () => {
    const s = new Semaphore(1);
    await s.acquire(1, never, refused);
    const controller = new AbortController();
    const waiting = s.acquire(1, controller.signal, refused);
    expect(s.waiting).toBe(true);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'BUDGET_CONNECTIONS' });
    expect(s.waiting).toBe(false);
    s.release(1);
    expect(s.used).toBe(0);
  });
});

describe('ReviewBytes', () => {
  it('denies past the review share with BUDGET_BYTES_IN_FLIGHT and gives everything back on release', async () => {
    const process = new Semaphore(100);
    const review = new ReviewBytes(process, 40, undefined);
    review.take(30, 'manifest');
    expect(() => review.take(20, 'manifest')).toThrow(
      expect.objectContaining({
        code: 'BUDGET_BYTES_IN_FLIGHT',
        indeterminate: false,
        message: expect.stringContaining('maxBytesPerReview'),
      }),
    );
    expect(process.used).toBe(30);
    review.release();
    expect(process.used).toBe(0);
  });

  it('denies at once when the process budget is spent by other reviews', async () => {
    const process = new Semaphore(50);
    const a = new ReviewBytes(process, 40, undefined);
    const b = new ReviewBytes(process, 40, undefined);
    a.take(40, 'manifest');
    expect(() => b.take(20, 'manifest')).toThrow(
      expect.objectContaining({
        code: 'BUDGET_BYTES_IN_FLIGHT',
        message: expect.stringContaining('maxBytesInFlight'),
      }),
    );
    a.release();
    b.take(20, 'manifest');
    expect(process.used).toBe(20);
  });
});

describe('limitsFrom', () => {
  it('keeps a review share within the process budget', () => {
    expect(limitsFrom({ maxBytesInFlight: 8 << 20 }).maxBytesPerReview).toBe(8 << 20);
    expect(limitsFrom(undefined).maxPlatformsPerImage).toBe(32);
  });
});
