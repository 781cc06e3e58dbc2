/**
 * The hostile-registry fuzzer: `imagegate serve` as a child process with the chart's memory
 * settings, one scripted hostile registry on loopback, and `cases` image scenarios from fast-check
 * (a fixed seed: the same cases on every run), batched `batch` images per pod review with
 * `concurrency` reviews in flight. Per case and throughout it checks the invariants of issue 20
 * (docs/security.md, "The hostile-registry fuzzer"): the process is alive, every review is answered
 * within its deadline, the oracle's properties per image (oracle.ts), RSS under the chart's memory
 * limit, sockets under the connection caps, /healthz under 1 s.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { DEFAULT_LIMITS } from '../../../src/registry/limits.js';
import { startHostileRegistry } from '../hostile-registry.js';
import { startServeProcess } from '../serve-process.js';
import { startHealthProbe } from './health-probe.js';
import { holdSlowBodies } from './slow-bodies.js';
import { keyPair } from '../test-sigstore.js';
import { PREDICATE_TYPE } from './documents.js';
import type { KnownOpenClass } from './known-open.js';
import { judge, type Violation } from './oracle.js';
import { imageScenario, type ImageScenario } from './scenario.js';
import { buildWorld, type World } from './world.js';

export interface FuzzOptions {
  seed: number;
  cases: number;
  /** Images per pod review. */
  batch: number;
  /** Reviews in flight at once. */
  concurrency: number;
  /** The API server's `timeout` for each review, in seconds (the review's deadline). */
  timeoutS: number;
  open: ReadonlySet<KnownOpenClass>;
  /**
   * /healthz must answer within this many ms (`npm run fuzz`: 1000). Undefined: it must answer 200,
   * and the slowest answer is reported, not judged (timings are not pass/fail in `npm test`).
   */
  healthLimitMs?: number;
  /** Only these case numbers (replaying a counterexample). */
  only?: number[];
  log?: (line: string) => void;
}

export interface CaseViolation extends Violation {
  /** The case number (replay: seed + case), or undefined for a process-wide invariant. */
  case?: number;
  scenario?: ImageScenario;
}

export interface FuzzResult {
  cases: number;
  reviews: number;
  seconds: number;
  violations: CaseViolation[];
  /** Per-image policy results (pass, fail, error-allowed) and how many passed on well-formed content. */
  results: Record<string, number>;
  hwmMiB: number;
  limitMiB: number;
  maxSockets: number;
  registryPeakSockets: number;
  healthMaxMs: number;
}

/** The image scenarios of a run: the same for the same seed and count, whatever the batching. */
export function scenarios(seed: number, count: number, open: ReadonlySet<KnownOpenClass>): ImageScenario[] {
  return fc.sample(imageScenario(open), { seed, numRuns: count });
}

/** A well-formed, validly signed (and attested), small image, delivered plainly. */
export function wellFormed(attest: boolean): ImageScenario {
  return {
    onError: 'allow',
    attest,
    pinned: false,
    layers: { count: 2, bigDeclared: false },
    pad: { manifest: 0, config: 0, sigPayload: 0, predicate: 0 },
    sig: { kind: 'valid', junk: 0 },
    att: { kind: 'att', repeat: 1 },
    mutations: [],
    deliveries: {},
    auth: { kind: 'none' },
    slowBodies: { connections: 0, bytes: 0, everyMs: 1000, fill: false },
  };
}

function policies(host: string, pem: string): object[] {
  const key = { name: 'fuzz-key', key: { pem } };
  return (['allow', 'deny'] as const).flatMap((onError) =>
    (['sig', 'att'] as const).map((kind) => ({
      apiVersion: 'imagegate.dev/v1alpha1',
      kind: 'ImagePolicy',
      metadata: { name: `fuzz-${onError}-${kind}` },
      spec: {
        mode: 'enforce',
        onError,
        images: [{ glob: `${host}/f/${onError}-${kind}/**` }],
        signature: { authorities: [key], transparencyLog: 'optional' },
        size: { maxCompressed: '16Mi' },
        ...(kind === 'att'
          ? {
              attestations: [
                {
                  name: 'fuzz',
                  predicateType: PREDICATE_TYPE,
                  authorities: [key],
                  transparencyLog: 'optional',
                  condition: 'predicate.ok == true',
                },
              ],
            }
          : {}),
      },
    })),
  );
}

/** Where the slow bodies come from: one pod, not the API server (body shares are per address). */
const SLOW_BODY_ADDRESS = '127.0.0.2';

/** Socket allowance of the process: every registry connection, the client's, the listener and a few. */
const SOCKET_BOUND = DEFAULT_LIMITS.maxConnections + 64 + 16;

export async function runRegistryFuzz(o: FuzzOptions): Promise<FuzzResult> {
  const log = o.log ?? (() => undefined);
  const all = scenarios(o.seed, o.only === undefined ? o.cases : Math.max(...o.only) + 1, o.open);
  const numbers = o.only ?? all.map((_, i) => i);
  const key = keyPair('ec-p256');
  const otherKey = keyPair('ec-p256');
  const reg = await startHostileRegistry();
  const worlds = new Map<string, World>();
  const violations: CaseViolation[] = [];
  const results: Record<string, number> = {};
  const violate = (v: CaseViolation): void => {
    if (violations.length < 50) violations.push(v);
    log(`[fuzz] VIOLATION ${v.property}${v.case !== undefined ? ` case ${v.case}` : ''}: ${v.detail}`);
  };

  reg.route(/^/, (req, res) => dispatch(worlds, req, res));
  const serve = await startServeProcess({
    policies: policies(reg.host, key.publicPem),
    args: ['--insecure-registry', reg.host],
    prefix: 'fuzz-',
  });
  // Warm-up, outside the measured run: the first review loads the check modules (seconds under
  // tsx). It is also the fuzzer's own check: a well-formed signed image must pass, or the oracle's
  // "never passed" would hold vacuously.
  for (const kind of ['sig', 'att'] as const) {
    const w = buildWorld(wellFormed(kind === 'att'), {
      id: `w${kind}`,
      host: reg.host,
      key: key.sign,
      otherKey: otherKey.sign,
    });
    worlds.set(w.id, w);
    await serve.review(`fuzz-warm-${kind}`, [w.image], '10s');
    await new Promise((r) => setTimeout(r, 200));
    const result = serve.takeAudit(`fuzz-warm-${kind}`)?.images[0]?.policies[0];
    if (result?.result !== 'pass') {
      await serve.stop();
      await reg.stop();
      throw new Error(`a well-formed signed image did not pass: ${JSON.stringify(result)}`);
    }
    worlds.delete(w.id);
  }
  let healthMaxMs = 0;
  let maxSockets = 0;
  // /healthz is timed from a worker thread: the fuzzer's own loop (building 12 MiB documents) must
  // not count against the server
  const ca = await readFile(join(serve.dataDir, 'imagegate-dev-ca.crt'), 'utf8');
  const probe = startHealthProbe(serve.port, ca);

  const started = performance.now();
  const batches: number[][] = [];
  for (let i = 0; i < numbers.length; i += o.batch) batches.push(numbers.slice(i, i + o.batch));
  let next = 0;
  let reviews = 0;
  /** Slow-body connections held open now (slow-bodies.ts). */
  let held = 0;
  const runBatch = async (b: number): Promise<void> => {
    const members = batches[b]!.map((n) => {
      const w = buildWorld(all[n]!, { id: `c${n}`, host: reg.host, key: key.sign, otherKey: otherKey.sign });
      worlds.set(w.id, w);
      return { n, w };
    });
    const slow = all[batches[b]![0]!]!.slowBodies;
    // from another loopback address: another pod than the API server's reviews (127.0.0.1)
    const holders = holdSlowBodies(serve.port, ca, slow, { from: [SLOW_BODY_ADDRESS] });
    held += slow.connections;
    const uid = `fuzz-${o.seed}-${b}`;
    const t = performance.now();
    let answer;
    try {
      answer = await serve.review(
        uid,
        members.map((m) => m.w.image),
        `${o.timeoutS}s`,
      );
    } catch (err) {
      violate({
        property: 'answered',
        detail: `review ${uid}: ${(err as Error).message}; alive ${serve.alive()}`,
      });
      return;
    } finally {
      reviews++;
      holders.release();
      // imagegate sees the close a little later: counted for 2 s more
      setTimeout(() => (held -= slow.connections), 2000).unref();
    }
    const ms = performance.now() - t;
    if (answer.status !== 200 || answer.uid !== uid)
      violate({
        property: 'answered',
        detail: `review ${uid}: HTTP ${answer.status} ${answer.message.slice(0, 300)}`,
      });
    let record = serve.takeAudit(uid);
    for (let i = 0; record === undefined && i < 40; i++) {
      await new Promise((r) => setTimeout(r, 50));
      record = serve.takeAudit(uid);
    }
    if (record === undefined) {
      violate({ property: 'answered', detail: `review ${uid}: no audit record` });
    } else if (record.images.length === 0) {
      // the hard stop's fallback (review/run.ts): answered in time, per onError, nothing to judge per image
      results['deadline-fallback'] = (results['deadline-fallback'] ?? 0) + members.length;
      log(
        `[fuzz] review ${uid} (cases ${members.map((m) => m.n).join(', ')}): ${record.decision}: ${record.skipped ?? 'no images'}`,
      );
    } else {
      if (record.latencyMs > o.timeoutS * 1000)
        violate({
          property: 'within-deadline',
          detail: `review ${uid}: ${record.latencyMs} ms (client ${ms.toFixed(0)} ms)`,
        });
      for (const { n, w } of members) {
        const image = record.images.find((i) => i.image === w.image);
        const result = image?.policies[0]?.result ?? 'missing';
        results[result] = (results[result] ?? 0) + 1;
        for (const v of judge(w, image, o.open)) violate({ ...v, case: n, scenario: w.scenario });
      }
      if (answer.allowed !== (record.decision === 'allowed'))
        violate({ property: 'answered', detail: `review ${uid}: answer and audit record disagree` });
    }
    // late requests (a drip still running) find nothing once the review is answered
    setTimeout(() => {
      for (const m of members) worlds.delete(m.w.id);
    }, 2000).unref();
    const { rssMiB } = await serve.rss().catch(() => ({ rssMiB: 0 }));
    if (rssMiB > serve.memory.limitMiB)
      violate({ property: 'rss-under-limit', detail: `RSS ${rssMiB.toFixed(0)} MiB after review ${uid}` });
    const sockets = serve.alive() ? serve.sockets() : 0;
    maxSockets = Math.max(maxSockets, sockets);
    // the slow bodies' own connections are the caller's, not imagegate's
    if (sockets > SOCKET_BOUND + held)
      violate({ property: 'sockets-bounded', detail: `${sockets} sockets after review ${uid}` });
    if (b % 25 === 0)
      log(
        `[fuzz] ${Math.min((b + 1) * o.batch, numbers.length)}/${numbers.length} cases, ${((performance.now() - started) / 1000).toFixed(0)} s, RSS ${rssMiB.toFixed(0)} MiB, ${sockets} sockets`,
      );
  };
  const worker = async (): Promise<void> => {
    for (;;) {
      const b = next++;
      if (b >= batches.length || !serve.alive()) return;
      await runBatch(b);
    }
  };
  try {
    await Promise.all(Array.from({ length: o.concurrency }, () => worker()));
    const h = await probe.stop();
    healthMaxMs = h.maxMs;
    for (const p of h.slow) {
      if (o.healthLimitMs !== undefined || !p.includes('answered 200 '))
        violate({ property: 'healthz-under-1s', detail: p });
    }
    if (!serve.alive())
      violate({ property: 'process-alive', detail: `serve exited:\n${serve.output().slice(-3000)}` });
    const { hwmMiB } = await serve.rss().catch(() => ({ hwmMiB: Infinity }));
    if (hwmMiB > serve.memory.limitMiB)
      violate({ property: 'rss-under-limit', detail: `peak RSS ${hwmMiB.toFixed(0)} MiB` });
    // + 2: the registry counts a socket until the client's FIN arrives, which can come after the
    // connection replacing it (a request aborted at its deadline)
    if (reg.sockets.peak > DEFAULT_LIMITS.maxConnectionsPerRegistry + 2)
      violate({ property: 'sockets-bounded', detail: `${reg.sockets.peak} sockets at once to the registry` });
    return {
      cases: numbers.length,
      reviews,
      seconds: (performance.now() - started) / 1000,
      violations,
      results,
      hwmMiB,
      limitMiB: serve.memory.limitMiB,
      maxSockets,
      registryPeakSockets: reg.sockets.peak,
      healthMaxMs,
    };
  } finally {
    await serve.stop();
    await reg.stop();
  }
}

/** Routes `/v2/<repo>/…`, `/token/<id>` and redirect hops `/r/<id>/<n>/…` to the case's world. */
function dispatch(worlds: Map<string, World>, req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0]!;
  const notFound = (): void =>
    void res
      .writeHead(404, { 'content-type': 'application/json' })
      .end('{"errors":[{"code":"NAME_UNKNOWN","message":"no"}]}');
  if (path === '/v2/' || path === '/v2')
    return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  if (path === '/token') {
    // one realm for the registry; the scope names the repository, hence the case
    const scope = new URL(req.url ?? '/', 'http://x').searchParams.get('scope') ?? '';
    const w = worlds.get(/^repository:f\/[a-z]+-[a-z]+\/(c\d+):/.exec(scope)?.[1] ?? '');
    return w === undefined ? void res.writeHead(401).end() : w.token(req, res);
  }
  let rest = path;
  let redirected = false;
  const hop = /^\/r\/([^/]+)\/(\d+)(\/.*)$/.exec(path);
  if (hop !== null) {
    const hops = Number(hop[2]);
    if (hops > 1) return void res.writeHead(307, { location: `/r/${hop[1]}/${hops - 1}${hop[3]}` }).end();
    rest = hop[3]!;
    redirected = true;
  }
  const m = /^\/v2\/(f\/[a-z]+-[a-z]+\/([cw][a-z0-9]+))\/(manifests|blobs|referrers)\/([^/]+)$/.exec(rest);
  const w = m === null ? undefined : worlds.get(m[2]!);
  if (m === null || w === undefined) return notFound();
  if (!redirected && !w.authorized(req.headers.authorization)) {
    const challenge = w.challenge();
    res.writeHead(401, {
      'content-type': 'application/json',
      ...(challenge !== undefined ? { 'www-authenticate': challenge } : {}),
    });
    return void res.end('{"errors":[{"code":"UNAUTHORIZED","message":"token required"}]}');
  }
  w.handle(m[3] as 'manifests' | 'blobs' | 'referrers', m[4]!, req, res, rest, redirected);
}
