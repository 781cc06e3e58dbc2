/**
 * The receive deadlines of every request body in flight, on one shared interval. A timer per body
 * cost ~a tenth of a cached review's CPU (created, rescheduled and cleared per request); one
 * interval over all bodies being received costs nothing per request, ticks only while a body is
 * being received, and checks each body as often as its own timer did (a tenth of the shortest
 * deadline), so a deadline is enforced at most one tick late, as before.
 */

/** A body being received, as the clock sees it. */
export interface Receiving {
  /** When its headers were parsed (performance.now()). */
  readonly started: number;
  /** Its bytes so far. */
  received: number;
  /** When the current rate window opened (its first byte, then each window's end). */
  windowStart: number;
  /** Bytes received in the current rate window. */
  windowBytes: number;
  /** Ends the body's request with this reason; the clock has already let go of it. */
  cut(why: string): void;
}

export interface ReceiveDeadlines {
  receiveTimeoutMs: number;
  firstByteTimeoutMs: number;
  minBytesPerSecond: number;
}

/** How often a body's receive rate is measured. */
export const RATE_WINDOW_MS = 1_000;

export class ReceiveClock {
  readonly #bodies = new Set<Receiving>();
  readonly #deadlines: ReceiveDeadlines;
  readonly #tickMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(deadlines: ReceiveDeadlines) {
    this.#deadlines = deadlines;
    this.#tickMs = Math.min(RATE_WINDOW_MS, deadlines.firstByteTimeoutMs, deadlines.receiveTimeoutMs) / 10;
  }

  /** Bodies being received now. */
  get size(): number {
    return this.#bodies.size;
  }

  add(body: Receiving): void {
    this.#bodies.add(body);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#tick(), this.#tickMs);
      this.#timer.unref();
    }
  }

  /** The body arrived whole or its request ended. The interval stops at its next idle tick. */
  delete(body: Receiving): void {
    this.#bodies.delete(body);
  }

  #tick(): void {
    if (this.#bodies.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    const now = performance.now();
    const o = this.#deadlines;
    for (const body of this.#bodies) {
      const why = lateness(body, now, o);
      if (why === undefined) continue;
      this.#bodies.delete(body);
      body.cut(why);
    }
  }
}

/** Why this body is too late at `now`, or undefined (and its rate window moved on when it passed). */
function lateness(body: Receiving, now: number, o: ReceiveDeadlines): string | undefined {
  if (now - body.started >= o.receiveTimeoutMs)
    return `the request body did not arrive whole within ${o.receiveTimeoutMs} ms`;
  if (body.received === 0)
    return now - body.started >= o.firstByteTimeoutMs
      ? `no byte of the request body arrived within ${o.firstByteTimeoutMs} ms`
      : undefined;
  if (now - body.windowStart < RATE_WINDOW_MS) return undefined;
  const rate = (body.windowBytes * 1000) / (now - body.windowStart);
  if (rate < o.minBytesPerSecond)
    return `the request body arrived at ${Math.round(rate)} bytes/s, under the minimum of ${o.minBytesPerSecond}`;
  body.windowStart = now;
  body.windowBytes = 0;
  return undefined;
}
