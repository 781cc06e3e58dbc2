/**
 * A worker thread of bench/cold-parallel-child.mjs (BENCH_SPLIT): its own engine and connection pool
 * (setupEngine), answering { body } messages with the review's milliseconds. An experiment only: the
 * budgets and caps of one engine are not shared with the other threads'.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { coldReviewOptions } from './cold-parallel-engine.mjs';

const { runReview } = await import(`${workerData.dist}/review/run.js`);
const { options } = await coldReviewOptions(workerData.dist, workerData.policy, workerData.host);
parentPort.on('message', async ({ body }) => {
  const t0 = performance.now();
  const r = await runReview(JSON.parse(body), options);
  parentPort.postMessage({ ms: performance.now() - t0, allowed: r.response.response.allowed });
});
parentPort.postMessage({ ready: true });
