/** A CheckInput for running one compiled check directly, with the image's facts as the evaluator makes them. */
import type { CheckInput } from '../../src/checks/check.js';
import { createImageFacts } from '../../src/checks/facts.js';

export function checkInput(input: Omit<CheckInput, 'facts'>): CheckInput {
  return { ...input, facts: createImageFacts(input) };
}
