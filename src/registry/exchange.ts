/**
 * One registry exchange as undici's dispatch handler, with no body stream: `request()` made a
 * `BodyReadable` per response that the client only drained into a buffer. Here the chunks go straight
 * into that buffer, with the same bounds: a declared length over the cap fails before a byte is kept,
 * a body passing its cap or byte budget is cut on the chunk that passes it, the whole-request timeout
 * and the caller's abort end the exchange (RequestAbort), an unread body pauses the socket at
 * HIGH_WATER bytes (the stream's highWaterMark). The legacy handler interface (onConnect, onHeaders,
 * onData, onComplete, onError) is the one undici's core calls; a handler of the newer one is wrapped
 * in an adapter per request (UnwrapHandler, its controller, the headers parsed into an object).
 */
import type { Dispatcher } from 'undici';
import { RegistryError } from '../errors.js';
import { RequestAbort } from './request-abort.js';
import type { RequestUrl } from './request-url.js';
import {
  rawHeader,
  startOfText,
  toHeaders,
  type ByteBudget,
  type Headers,
  type ResponseBody,
} from './response.js';
import { tooLarge, transportError } from './transport-error.js';

/** Bytes kept of a body nobody reads yet; then the socket is paused (undici's stream: 64 KiB). */
const HIGH_WATER = 64 * 1024;
/** What `discard` reads of a body before it drops the rest. */
const DISCARD_BYTES = 16_384;

const HEADERS = 0; // #state
const BODY = 1;
const COMPLETE = 2;
const FAILED = 3;
const NONE = 0; // #want: what the consumer asked of the body
const READ = 1;
const DISCARD = 2;

/**
 * The handler undici calls, the per-request abort (its base class) and the response it answers
 * (HttpResponse: status, headers and body are this object): one object per exchange.
 */
export class Exchange extends RequestAbort implements Dispatcher.DispatchHandler, ResponseBody {
  status = 0;
  readonly #caller: AbortSignal;
  readonly #what: string;
  readonly #url: RequestUrl;
  #onClose: (() => void) | undefined;
  #state = HEADERS;
  #error: unknown = undefined;
  #raw: Buffer[] | undefined = undefined;
  #headers: Headers | undefined = undefined;
  #chunks: Buffer[] = [];
  #size = 0;
  /** undici's abort of this request (onConnect). */
  #cut: ((err?: Error) => void) | undefined = undefined;
  #resume: (() => void) | undefined = undefined;
  #paused = false;
  #want = NONE;
  #max = 0;
  #counted = 0;
  #budget: ByteBudget | undefined = undefined;
  #readWhat = '';
  #readCaller: AbortSignal | undefined = undefined;
  #resolve: ((value: never) => void) | undefined = undefined;
  #reject: ((err: unknown) => void) | undefined = undefined;

  /** `onClose` runs once when the exchange ends (body complete, failed or dropped), after disarming. */
  constructor(caller: AbortSignal, timeoutMs: number, what: string, url: RequestUrl, onClose?: () => void) {
    super(caller, timeoutMs);
    this.#caller = caller;
    this.#what = what;
    this.#url = url;
    this.#onClose = onClose;
  }

  /** Dispatches the request: answers at its headers (the body follows), or fails as transportError. */
  start(dispatcher: Dispatcher, opts: Dispatcher.DispatchOptions): Promise<Exchange> {
    const answer = this.#wait<Exchange>();
    // a caller that already gave up: no connection
    if (this.aborted) this.onError(this.reason as Error);
    else dispatcher.dispatch(opts, this);
    return answer;
  }

  /** All headers as an object, made on first use (the client itself asks for single headers). */
  get headers(): Headers {
    return (this.#headers ??= toHeaders(this.#raw ?? []));
  }

  /** The first value of header `name` (lower case), from the raw headers: no object of them all. */
  header(name: string): string | undefined {
    return rawHeader(this.#raw, name);
  }

  get body(): ResponseBody {
    return this;
  }

  protected onAbort(reason: unknown): void {
    // before onConnect undici has nothing to abort yet: onConnect does it
    this.#cut?.(reason as Error);
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.aborted) abort(this.reason as Error);
    else this.#cut = abort;
  }

  onHeaders(statusCode: number, raw: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx: the answer follows
    this.status = statusCode;
    this.#raw = raw;
    this.#resume = resume;
    this.#state = BODY;
    this.#settle(this);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    const want = this.#want;
    if (want === READ) return this.#take();
    if (want === DISCARD) {
      if (this.#size <= DISCARD_BYTES) return true;
      this.#settle(this.#text());
      this.destroy();
      return false;
    }
    if (this.#size < HIGH_WATER) return true;
    this.#paused = true;
    return false;
  }

  onComplete(): void {
    this.#state = COMPLETE;
    this.disarm();
    this.#close();
    const want = this.#want;
    if (want === READ && this.#resolve !== undefined) this.#settle(this.#bytes());
    else if (want === DISCARD && this.#resolve !== undefined) this.#settle(this.#text());
  }

  onError(err: Error): void {
    const state = this.#state;
    if (state === COMPLETE || state === FAILED) return;
    this.#state = FAILED;
    this.#error = err;
    this.#chunks = [];
    this.disarm();
    this.#close();
    if (state === HEADERS) {
      this.#fail(transportError(err, this.#caller, this.timedOut ? this : undefined, this.#what, this.#url));
    } else if (this.#want === READ) {
      this.#giveBack();
      this.#fail(this.#readError(err));
    } else if (this.#want === DISCARD) {
      this.#settle('');
    }
  }

  read(maxBytes: number, caller: AbortSignal, what: string, budget?: ByteBudget): Promise<Uint8Array> {
    if (this.#want !== NONE) return Promise.reject(new Error(`${what}: a response body is read once`));
    const declared = Number(this.header('content-length'));
    if (Number.isFinite(declared) && declared > maxBytes) {
      this.destroy();
      return Promise.reject(tooLarge(what, maxBytes));
    }
    let counted = 0;
    if (budget !== undefined && Number.isSafeInteger(declared) && declared > 0) {
      try {
        budget.take(declared, what);
      } catch (err) {
        this.destroy();
        return Promise.reject(err);
      }
      counted = declared;
    }
    this.#want = READ;
    this.#max = maxBytes;
    this.#budget = budget;
    this.#counted = counted;
    this.#readWhat = what;
    this.#readCaller = caller;
    if (this.#state === FAILED) {
      this.#giveBack();
      return Promise.reject(this.#readError(this.#error));
    }
    const answer = this.#wait<Uint8Array>();
    // the bytes already here, against the cap and the budget (a failure settles `answer`)
    if (this.#take()) {
      if (this.#state === COMPLETE) this.#settle(this.#bytes());
      else this.#unpause();
    }
    return answer;
  }

  discard(): Promise<string> {
    if (this.#want !== NONE || this.#state === FAILED) return Promise.resolve('');
    this.#want = DISCARD;
    if (this.#state === COMPLETE || this.#size > DISCARD_BYTES) {
      const text = this.#text();
      this.destroy();
      return Promise.resolve(text);
    }
    const answer = this.#wait<string>();
    this.#unpause();
    return answer;
  }

  destroy(): void {
    this.#chunks = [];
    if (this.#state !== BODY) return;
    if (this.#cut !== undefined) this.#cut(new Error(`${this.#what}: response body dropped`));
    else this.onError(new Error(`${this.#what}: response body dropped`));
  }

  /** Counts the bytes so far against the cap and the budget; false when that failed the read. */
  #take(): boolean {
    const size = this.#size;
    try {
      if (size > this.#max) throw tooLarge(this.#readWhat, this.#max);
      if (this.#budget !== undefined && size > this.#counted) {
        this.#budget.take(size - this.#counted, this.#readWhat);
        this.#counted = size;
      }
      return true;
    } catch (err) {
      this.#giveBack();
      this.#fail(err);
      this.destroy(); // cut now, not after the rest is read
      return false;
    }
  }

  /** The whole body, a copy of exactly its bytes: a chunk is a view into the socket's read buffer. */
  #bytes(): Uint8Array {
    const total = this.#size;
    if (this.#budget !== undefined && this.#counted > total) this.#budget.give(this.#counted - total);
    const all = Buffer.concat(this.#chunks, total);
    this.#chunks = [];
    return new Uint8Array(all.buffer, all.byteOffset, all.byteLength); // a view, not a second copy
  }

  /** The start of a discarded body (the chunks within DISCARD_BYTES); the caller drops the rest. */
  #text(): string {
    const text = startOfText(this.#chunks, DISCARD_BYTES);
    this.#chunks = [];
    return text;
  }

  #giveBack(): void {
    this.#budget?.give(this.#counted);
    this.#counted = 0;
    this.#budget = undefined;
  }

  #readError(err: unknown): RegistryError {
    return err instanceof RegistryError
      ? err
      : transportError(err, this.#readCaller ?? this.#caller, this, this.#readWhat);
  }

  #unpause(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#resume?.();
  }

  #close(): void {
    const onClose = this.#onClose;
    this.#onClose = undefined;
    onClose?.();
  }

  #wait<T>(): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#resolve = resolve as (value: never) => void;
      this.#reject = reject;
    });
  }

  #settle(value: unknown): void {
    const resolve = this.#resolve;
    this.#resolve = undefined;
    this.#reject = undefined;
    (resolve as ((value: unknown) => void) | undefined)?.(value);
  }

  #fail(err: unknown): void {
    const reject = this.#reject;
    this.#resolve = undefined;
    this.#reject = undefined;
    reject?.(err);
  }
}
