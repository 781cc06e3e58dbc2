/**
 * The review options bench/cold-parallel-child.mjs and its worker threads (cold-parallel-worker.mjs)
 * each build: an engine of their own over `dist` (setupEngine: its own caches and connection pool),
 * one key-signature policy, the bench's plain-HTTP registry, no audit destination; and how to close it.
 */
import { pino } from 'pino';

export async function coldReviewOptions(dist, policy, host) {
  const { setupEngine } = await import(`${dist}/cli/setup.js`);
  const { validateRequest } = await import(`${dist}/review/validate.js`);
  const { DeadlineWatch } = await import(`${dist}/review/deadline.js`);
  const setup = await setupEngine(
    { policy: [policy], insecureRegistry: [host], allowRegistry: [], trustedRoot: [], logLevel: 'info' },
    pino({ level: 'silent' }),
    {},
  );
  const options = {
    engine: setup.engine,
    handler: validateRequest,
    mayDeny: true,
    audit: { write() {} },
    deadlines: new DeadlineWatch(),
  };
  return { options, close: () => setup.registry.close() };
}
