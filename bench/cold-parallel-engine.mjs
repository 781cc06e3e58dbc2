/**
 * The review options bench/cold-parallel-child.mjs, its worker threads (cold-parallel-worker.mjs) and
 * bench/cold-cpu-child.mjs each build: an engine of their own over `dist` (setupEngine: its own
 * caches and connection pool), one policy, the bench's plain-HTTP registry, no audit destination;
 * its registry access (for replays) and how to close it. `trustedRoot` and `deps` (setupEngine's
 * hooks) are the cold-CPU bench's.
 */
import { pino } from 'pino';

export async function coldReviewOptions(dist, policy, host, { trustedRoot = [], deps = {} } = {}) {
  const { setupEngine } = await import(`${dist}/cli/setup.js`);
  const { validateRequest } = await import(`${dist}/review/validate.js`);
  const { DeadlineWatch } = await import(`${dist}/review/deadline.js`);
  const setup = await setupEngine(
    { policy: [policy], insecureRegistry: [host], allowRegistry: [], trustedRoot, logLevel: 'info' },
    pino({ level: 'silent' }),
    deps,
  );
  const options = {
    engine: setup.engine,
    handler: validateRequest,
    mayDeny: true,
    audit: { write() {} },
    deadlines: new DeadlineWatch(),
  };
  return { options, registry: setup.registry, close: () => setup.registry.close() };
}
