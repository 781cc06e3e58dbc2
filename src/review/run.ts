/**
 * One review from an untrusted body to an answer, the same for /validate, /mutate and `imagegate
 * review`: parse → facts → run the handler under the deadline → (on a bug or an overrun) the fallback
 * answer → write exactly one audit record. Throws AdmissionError only for a malformed review.
 */
import { toRequestFacts, type RequestFacts } from '../admission/facts.js';
import { parseAdmissionReview } from '../admission/parse.js';
import { toFallbackResponse } from '../admission/response.js';
import type { AuditRecord } from '../audit/record.js';
import type { Engine } from '../evaluate/engine.js';
import { AdmissionError, ImagegateError, errorMessage } from '../errors.js';
import { budgetFor, DEFAULT_REVIEW_TIMEOUT_MS, forManyListeners, type DeadlineWatch } from './deadline.js';
import { toReviewResult, type ReviewContext, type ReviewHandler, type ReviewResult } from './result.js';
import { effectiveMode } from '../policy/mode.js';

export interface RunOptions {
  engine: Engine;
  handler: ReviewHandler;
  /** Whether an unexpected failure may deny (per onError): /validate yes, /mutate never. */
  mayDeny: boolean;
  /** The API server's timeout for this request (default DEFAULT_REVIEW_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Where the one audit record goes. */
  audit: { write(record: AuditRecord): void };
  /** The deadlines of every review of this server or command (one timer for all: deadline.ts). */
  deadlines: DeadlineWatch;
}

export async function runReview(body: unknown, options: RunOptions): Promise<ReviewResult> {
  const review = parseAdmissionReview(body);
  const started = performance.now();
  const watchFrom = options.deadlines.now();
  const facts = toRequestFacts(review.request);
  const timeoutMs = options.timeoutMs ?? DEFAULT_REVIEW_TIMEOUT_MS;
  const budget = budgetFor(timeoutMs);
  const { engine } = options;
  const context = new ReviewDeadline(engine, Date.now() + budget, started);
  let result: ReviewResult;
  try {
    const answer = options.handler(facts, context);
    // A synchronous answer (a review decided from memory: validate.ts) had nothing to wait for.
    result = isPromise(answer)
      ? await watched(answer, context, budget, timeoutMs, watchFrom, options)
      : answer;
  } catch (err) {
    if (err instanceof AdmissionError) throw err;
    // availability (a deadline, a dependency that could not answer) is onError's to decide; any
    // other exception is a bug, and a bug fails closed
    const late = err instanceof Late || (err instanceof Error && err.name === 'AbortError');
    const bug = !late && !(err instanceof ImagegateError && err.indeterminate);
    result = fallback(facts, engine, errorMessage(err), started, options.mayDeny, bug);
  }
  options.audit.write(result.record);
  return result;
}

function isPromise(answer: ReviewResult | Promise<ReviewResult>): answer is Promise<ReviewResult> {
  return typeof (answer as { then?: unknown }).then === 'function';
}

/** A deadline of the review passed (its budget's abort, or the hard stop): onError decides. */
class Late extends Error {}

/**
 * The handler's answer, watched: work that ignores the abort signal must not hold the answer past
 * the API server's timeout. After the budget, checks get half the remaining margin to report, then
 * onError decides. Both deadlines count from the review's start (`from`) and are watched by the
 * server's one timer (deadline.ts): most reviews end long before.
 */
async function watched(
  answer: Promise<ReviewResult>,
  context: ReviewDeadline,
  budget: number,
  timeoutMs: number,
  from: number,
  options: RunOptions,
): Promise<ReviewResult> {
  const hardStop = budget + Math.max(0, timeoutMs - budget) / 2;
  let unwatch: (() => void) | undefined;
  // Made only when a deadline fires: an Error captures a stack trace, two per review were a
  // measurable share of a cached review's CPU (docs/benchmarks.md, issue 26 round 8).
  let overrun: Error | undefined;
  let reached: Error | undefined;
  try {
    return await new Promise<ReviewResult>((resolve, reject) => {
      unwatch = options.deadlines.watch(
        budget,
        hardStop,
        () => context.abort((reached = new Error('deadline reached'))),
        () => reject((overrun = new Error(`no answer within the deadline (${Math.round(hardStop)} ms)`))),
        from,
      );
      answer.then(resolve, reject);
    });
  } catch (err) {
    if (err !== undefined && (err === overrun || err === reached)) throw new Late((err as Error).message);
    throw err;
  } finally {
    unwatch?.();
  }
}

/**
 * The review's context. Its AbortController is made when the signal is first read: a review
 * answered from reused outcomes never reads it (about a tenth of such a review's CPU went to making
 * one and lifting its listener limit). A class, with the getter on its prototype: object literals
 * with getters (and spreads) got a new hidden class per review, which tripled the garbage
 * collector's time (docs/benchmarks.md).
 */
class ReviewDeadline implements ReviewContext {
  #controller: AbortController | undefined;

  constructor(
    readonly engine: Engine,
    readonly deadline: number,
    readonly started: number,
  ) {}

  get signal(): AbortSignal {
    return this.#control().signal;
  }

  abort(reason: Error): void {
    this.#control().abort(reason);
  }

  #control(): AbortController {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      forManyListeners(this.#controller.signal);
    }
    return this.#controller;
  }
}

/**
 * No answer from the handler, only on /validate (/mutate never denies: an unpinned image is still
 * judged by the validating webhook). An overrun or an unavailable dependency denies when some
 * enforcing policy's onError says deny; a bug denies when any policy enforces (fail closed).
 */
function fallback(
  facts: RequestFacts,
  engine: Engine,
  why: string,
  started: number,
  mayDeny: boolean,
  bug: boolean,
): ReviewResult {
  const mode = engine.settings.modeOverride;
  const deny =
    mayDeny &&
    engine.policies().some((p) => effectiveMode(p.mode, mode) === 'enforce' && (bug || p.onError === 'deny'));
  const message = `imagegate could not evaluate this request: ${why}`;
  return toReviewResult(facts, toFallbackResponse(facts.uid, message, deny), {
    wouldDeny: false,
    skipped: message,
    images: [],
    started,
    ...(mode !== undefined ? { mode } : {}),
  });
}
