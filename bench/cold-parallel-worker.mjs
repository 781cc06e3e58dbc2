/**
 * A worker thread of bench/cold-parallel-child.mjs (BENCH_SPLIT): its own engine and connection pool
 * (setupEngine), answering { body } messages with the review's milliseconds. An experiment only: the
 * budgets and caps of one engine are not shared with the other threads'.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';

const dist = workerData.dist;
const { setupEngine } = await import(`${dist}/cli/setup.js`);
const { runReview } = await import(`${dist}/review/run.js`);
const { validateRequest } = await import(`${dist}/review/validate.js`);
const { DeadlineWatch } = await import(`${dist}/review/deadline.js`);
const setup = await setupEngine(
  {
    policy: [workerData.policy],
    insecureRegistry: [workerData.host],
    allowRegistry: [],
    trustedRoot: [],
    logLevel: 'info',
  },
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
parentPort.on('message', async ({ body }) => {
  const t0 = performance.now();
  const r = await runReview(JSON.parse(body), options);
  parentPort.postMessage({ ms: performance.now() - t0, allowed: r.response.response.allowed });
});
parentPort.postMessage({ ready: true });
