/**
 * The per-request abort of a registry exchange: the caller's signal or the per-request timeout,
 * whichever comes first, ends the exchange (`onAbort`); disarmed when the exchange ends.
 *
 * A base class of the exchange itself (exchange.ts), not an AbortController per request (its
 * AbortSignal, that signal's listener map and listener records, and closures: the largest per-request
 * items of the client in a cold image's allocation profile). The caller's signal gets this object as
 * its listener (`handleEvent`), the timer gets it as argument: no closure per request.
 */
export abstract class RequestAbort {
  aborted = false;
  reason: unknown = undefined;
  timedOut = false;
  readonly #caller: AbortSignal;
  readonly #timer: NodeJS.Timeout | undefined;
  #armed = false;

  constructor(caller: AbortSignal, timeoutMs: number) {
    this.#caller = caller;
    if (caller.aborted) {
      // the subclass is not constructed yet: it sees `aborted` before it starts anything
      this.aborted = true;
      this.reason = caller.reason;
      return;
    }
    caller.addEventListener('abort', this, { once: true });
    this.#timer = setTimeout(onTimeout, timeoutMs, this);
    this.#timer.unref();
    this.#armed = true;
  }

  /** Ends the exchange with `reason` (called at most once, while armed). */
  protected abstract onAbort(reason: unknown): void;

  /** The caller's signal aborted. */
  handleEvent(): void {
    clearTimeout(this.#timer);
    this.#armed = false;
    this.#abort(this.#caller.reason);
  }

  timeOut(): void {
    this.timedOut = true;
    this.#armed = false;
    this.#caller.removeEventListener('abort', this);
    this.#abort(new DOMException('The operation timed out.', 'TimeoutError'));
  }

  /** The exchange ended: neither the timer nor the caller's signal ends it any more. */
  disarm(): void {
    if (!this.#armed) return;
    this.#armed = false;
    clearTimeout(this.#timer);
    this.#caller.removeEventListener('abort', this);
  }

  #abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.onAbort(reason);
  }
}

function onTimeout(abort: RequestAbort): void {
  abort.timeOut();
}
