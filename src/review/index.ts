/** The review of one admission request: run.ts drives it, validate.ts and mutate.ts decide. */
export {
  budgetFor,
  DeadlineWatch,
  DEFAULT_REVIEW_TIMEOUT_MS,
  forManyListeners,
  parseTimeout,
} from './deadline.js';
export { pinDigests } from './mutate.js';
export type { ReviewContext, ReviewHandler, ReviewResult } from './result.js';
export { runReview, type RunOptions } from './run.js';
export { unusableMutateResult } from './unusable.js';
export { validateRequest } from './validate.js';
