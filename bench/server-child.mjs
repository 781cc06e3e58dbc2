/**
 * One server under test, in its own process (the load generator gets the other core), run the way
 * production runs it: plain node over the compiled dist/ (bench/run.ts builds it first). Either the
 * baseline, a bare Fastify HTTPS server that parses the review and answers a fixed allowed review, or
 * imagegate itself (setupEngine + buildApp, as `imagegate serve` builds them). Tells the parent its
 * port over IPC and answers `cpu` messages with process.cpuUsage() and `bare` messages with the
 * milliseconds bare undici takes to make a cold pod's registry requests (bench/bare-pod.mjs).
 *
 * argv[2]: JSON { kind: 'baseline' | 'imagegate', cert, key, policy?, registry?, secure? }
 */
import Fastify from 'fastify';
import { pino } from 'pino';
import { Agent } from 'undici';
import { createAuditWriter, openAuditDestination } from '../dist/src/audit/writer.js';
import { setupEngine } from '../dist/src/cli/setup.js';
import { namesKeyless, warmUp } from '../dist/src/cli/warm-up.js';
import { buildApp, DEFAULT_BODY_LIMIT } from '../dist/src/server/app.js';
import { createMetrics } from '../dist/src/server/metrics.js';
import { barePod } from './bare-pod.mjs';

const config = JSON.parse(process.argv[2] ?? '{}');
const https = { cert: config.cert, key: config.key };

async function start() {
  if (config.kind === 'baseline') {
    const app = Fastify({ bodyLimit: DEFAULT_BODY_LIMIT, https });
    app.post('/validate', async (request) => ({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: request.body?.request?.uid, allowed: true },
    }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    return { port: app.server.address().port, close: () => app.close() };
  }
  // Production-like: JSON logs and audit lines serialised and written (to /dev/null), asynchronously,
  // the audit lines through the destination `imagegate serve` opens.
  const logger = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false }));
  // Metrics wired as serve.ts wires them: per review, per check and per registry request.
  const metrics = createMetrics({ defaultMetrics: true });
  const setup = await setupEngine(
    {
      policy: [config.policy],
      // `secure`: HTTPS with the bench CA (NODE_EXTRA_CA_CERTS), as public registries are.
      insecureRegistry: config.secure === true ? [] : [config.registry],
      allowRegistry: [],
      trustedRoot: [],
      logLevel: 'info',
    },
    logger,
    { onRegistryRequest: (registry, status) => metrics.registryRequests.inc({ registry, status }) },
  );
  setup.engine.onCheck = (check, _policy, seconds) => metrics.checkDuration.observe({ check }, seconds);
  // The chart's default (warmUp.enabled: serve --warm-up) before the server says it is ready, keyless
  // pods too when the policy names a keyless authority, as serve.ts calls it; BENCH_WARM_UP=0:
  // without it (what a fresh process's first pod costs then).
  if (process.env.BENCH_WARM_UP !== '0') await warmUp({ keyless: namesKeyless(setup.store.documents()) });
  const app = buildApp({
    engine: setup.engine,
    audit: createAuditWriter(openAuditDestination('/dev/null')),
    metrics,
    logger,
    readiness: () => ({ ready: true }),
    https,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    port: app.server.address().port,
    close: async () => {
      await app.close();
      await setup.registry.close();
    },
  };
}

const server = await start();
/** For `bare` (bench/bare-pod.mjs): its own pool, beside imagegate's, in the same process. */
let bare;
process.on('message', (m) => {
  if (m.type === 'cpu') process.send?.({ type: 'cpu', usage: process.cpuUsage() });
  if (m.type === 'bare') {
    bare ??= new Agent({ connections: 64 });
    void barePod(`http://${config.registry}`, m.images, bare).then(
      (ms) => process.send?.({ type: 'bare', ms }),
      (err) => process.send?.({ type: 'bare', error: String(err) }),
    );
  }
  if (m.type === 'stop') void server.close().finally(() => process.exit(0));
});
process.send?.({ type: 'ready', port: server.port });
