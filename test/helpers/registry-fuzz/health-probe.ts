/**
 * Polls `/healthz` every 250 ms from a worker thread (its own event loop, so a busy test process
 * does not count against the server) and reports the slowest answer and every probe that took
 * over `limitMs` or failed.
 */
import { Worker } from 'node:worker_threads';

const CODE = `
const { workerData, parentPort } = require('node:worker_threads');
const https = require('node:https');
const agent = new https.Agent({ keepAlive: true, ca: workerData.ca });
let maxMs = 0;
const slow = [];
let stopped = false;
parentPort.on('message', () => { stopped = true; });
function probe() {
  if (stopped) return parentPort.postMessage({ maxMs, slow });
  const t = performance.now();
  let done = false;
  const finish = (status) => {
    if (done) return;
    done = true;
    const ms = performance.now() - t;
    maxMs = Math.max(maxMs, ms);
    if (status !== 200 || ms > workerData.limitMs)
      slow.push('/healthz answered ' + status + ' after ' + ms.toFixed(0) + ' ms at ' + new Date().toISOString());
    setTimeout(probe, 250);
  };
  const req = https.get({ host: '127.0.0.1', port: workerData.port, path: '/healthz', servername: 'localhost', agent, timeout: 5000 }, (res) => {
    res.resume();
    res.on('end', () => finish(res.statusCode));
  });
  req.on('timeout', () => { req.destroy(); finish('no answer'); });
  req.on('error', (e) => finish(e.message));
}
probe();
`;

export interface HealthProbe {
  /** Stops polling (once; later calls return the same result). */
  stop(): Promise<{ maxMs: number; slow: string[] }>;
}

export function startHealthProbe(port: number, ca: string, limitMs = 1000): HealthProbe {
  const worker = new Worker(CODE, { eval: true, workerData: { port, ca, limitMs } });
  const result = new Promise<{ maxMs: number; slow: string[] }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  let stopped: Promise<{ maxMs: number; slow: string[] }> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        worker.postMessage('stop');
        const r = await result;
        await worker.terminate();
        return r;
      })();
      return stopped;
    },
  };
}
