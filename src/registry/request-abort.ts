/**
 * The per-request abort of a registry exchange: aborted by the caller's signal or by the per-request
 * timeout, whichever comes first, and disarmed when the response body closes.
 *
 * It is itself the signal undici is given. undici's request() accepts an EventTarget-like signal and
 * uses only `aborted`, `reason` and its 'abort' listener (one, added once and removed when the body
 * closes: api-request.js, util.addAbortListener); this object is that, instead of an AbortController
 * per request (its AbortSignal, that signal's listener map and listener records, and three closures
 * here: the largest per-request items of the client in a cold image's allocation profile). The
 * caller's signal gets this object as its listener (`handleEvent`), the timer gets it as argument.
 */
export class RequestAbort {
  aborted = false;
  reason: unknown = undefined;
  timedOut = false;
  readonly #caller: AbortSignal;
  readonly #timer: NodeJS.Timeout;
  #listener: (() => void) | undefined;
  /** Listeners after the first (undici adds one; kept correct for any other caller). */
  #more: (() => void)[] | undefined;

  constructor(caller: AbortSignal, timeoutMs: number) {
    this.#caller = caller;
    if (caller.aborted) this.#abort(caller.reason);
    else caller.addEventListener('abort', this, { once: true });
    this.#timer = setTimeout(onTimeout, timeoutMs, this);
    this.#timer.unref();
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.#listener === undefined) this.#listener = listener;
    else (this.#more ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    if (this.#listener === listener) this.#listener = undefined;
    else if (this.#more !== undefined) this.#more = this.#more.filter((l) => l !== listener);
  }

  /** The caller's signal aborted. */
  handleEvent(): void {
    clearTimeout(this.#timer);
    this.#abort(this.#caller.reason);
  }

  timeOut(): void {
    this.timedOut = true;
    this.#caller.removeEventListener('abort', this);
    this.#abort(new DOMException('The operation timed out.', 'TimeoutError'));
  }

  disarm(): void {
    clearTimeout(this.#timer);
    this.#caller.removeEventListener('abort', this);
  }

  #abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = [this.#listener, ...(this.#more ?? [])];
    this.#listener = undefined;
    this.#more = undefined;
    for (const l of listeners) l?.();
  }
}

function onTimeout(abort: RequestAbort): void {
  abort.timeOut();
}
