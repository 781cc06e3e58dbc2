/**
 * Throws 1,000 mutated AdmissionReviews (10,000 when CI is set), built from the real shared fixtures, at the running HTTPS
 * server with 32 requests in flight over keep-alive connections. A seeded PRNG makes every failure
 * reproducible: IMAGEGATE_FUZZ_SEED=<seed> replays a run, IMAGEGATE_FUZZ_COUNT=<n> changes its size.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEngine, writePolicyFile } from '../helpers/engine.js';
import { HAVE_FIXTURES } from '../helpers/fixtures.js';
import { buildCase, corpus, ERROR_CODES, Mutator, prng, type Sent } from '../helpers/fuzz-cases.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { policyYaml } from '../helpers/policy-documents.js';

const SEED = Number(process.env.IMAGEGATE_FUZZ_SEED ?? 0x1ea9e7);
const COUNT = Number(process.env.IMAGEGATE_FUZZ_COUNT ?? (process.env.CI ? 10_000 : 1_000));
const IN_FLIGHT = 32;

const POLICIES =
  policyYaml('prod-digests', {
    mode: 'enforce',
    images: [{ glob: 'registry.example.com/**' }, { glob: 'docker.io/library/*' }],
    exclude: [{ glob: 'docker.io/library/busybox' }],
    namespaces: { include: ['prod-*', 'default', 'connaisseur'], exclude: ['kube-system'] },
    requireDigest: true,
  }) +
  '---\n' +
  policyYaml('everything-audit', {
    mode: 'audit',
    images: [{ glob: '**' }],
    requireDigest: true,
    onError: 'allow',
  });

function heapAfterGc(gc: () => void): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

describe.skipIf(!HAVE_FIXTURES)('fuzz: mutated admission reviews over HTTPS', () => {
  let server: TestServer;
  let gc: () => void;

  beforeAll(async () => {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
    const { engine } = await buildEngine({ policy: [await writePolicyFile(POLICIES)], unmatched: 'audit' });
    server = await startServer({ engine, connections: IN_FLIGHT, retainLines: false });
  });
  afterAll(() => server.close());

  it(`answers ${COUNT} mutated reviews with no 5xx, and every 200 is an AdmissionReview for the request's uid`, async () => {
    const seeds = corpus();
    // One PRNG per case, derived from the seed and the index: cases are built lazily (memory stays
    // flat) yet each one is reproducible whatever order the workers take them in.
    const caseAt = (i: number): Sent =>
      buildCase(seeds, new Mutator(prng(SEED ^ Math.imul(i + 1, 0x9e3779b1))));
    const byStatus = new Map<number, number>();
    const byCode = new Map<string, number>();
    const failures: string[] = [];
    const countsBefore = server.counts();
    let next = 0;
    let heapWarm = 0;
    const warmAt = Math.min(2_000, Math.floor(COUNT / 5));
    const started = performance.now();

    const fail = (i: number, why: string): void => {
      if (failures.length < 10)
        failures.push(
          `case #${i} (seed ${SEED}): ${why}; body starts ${JSON.stringify(caseAt(i).text.slice(0, 300))}`,
        );
    };

    async function worker(): Promise<void> {
      for (;;) {
        const i = next++;
        if (i >= COUNT) return;
        if (i === warmAt) heapWarm = heapAfterGc(gc);
        const c = caseAt(i);
        let reply;
        try {
          reply = await server.post('/validate?timeout=10s', c.text, {
            raw: true,
            contentType: c.contentType,
          });
        } catch (err) {
          fail(i, `transport error ${(err as Error).message}`);
          continue;
        }
        byStatus.set(reply.status, (byStatus.get(reply.status) ?? 0) + 1);
        const json = reply.json as
          | {
              apiVersion?: unknown;
              kind?: unknown;
              response?: Record<string, unknown>;
              error?: { code?: unknown; message?: unknown };
            }
          | undefined;
        if (reply.status >= 500) {
          fail(i, `status ${reply.status}: ${reply.text.slice(0, 200)}`);
        } else if (reply.status === 200) {
          const r = json?.response;
          const wellFormed =
            json?.apiVersion === 'admission.k8s.io/v1' &&
            json.kind === 'AdmissionReview' &&
            r !== undefined &&
            typeof r.allowed === 'boolean' &&
            r.uid === c.uid &&
            (r.warnings === undefined ||
              (Array.isArray(r.warnings) &&
                r.warnings.every((w) => typeof w === 'string' && w.length <= 256))) &&
            (r.allowed === true || typeof (r.status as { code?: unknown } | undefined)?.code === 'number');
          if (!wellFormed) fail(i, `malformed 200: ${reply.text.slice(0, 300)}`);
        } else {
          const code = json?.error?.code;
          if (
            typeof code !== 'string' ||
            !ERROR_CODES.has(code) ||
            typeof json?.error?.message !== 'string'
          ) {
            fail(i, `malformed ${reply.status}: ${reply.text.slice(0, 300)}`);
          } else {
            byCode.set(code, (byCode.get(code) ?? 0) + 1);
          }
        }
      }
    }

    await Promise.all(Array.from({ length: IN_FLIGHT }, () => worker()));
    const seconds = (performance.now() - started) / 1000;
    const heapEnd = heapAfterGc(gc);
    const counts = server.counts();
    const ok = byStatus.get(200) ?? 0;
    const rejected = COUNT - ok;

    console.log(
      `[fuzz] seed ${SEED}: ${COUNT} reviews in ${seconds.toFixed(1)} s (${Math.round(COUNT / seconds)}/s), ` +
        `status ${JSON.stringify(Object.fromEntries([...byStatus].sort()))}, codes ${JSON.stringify(Object.fromEntries([...byCode].sort()))}, ` +
        `heapUsed after warm-up ${(heapWarm / 2 ** 20).toFixed(1)} MiB → end ${(heapEnd / 2 ** 20).toFixed(1)} MiB`,
    );

    expect(failures).toEqual([]);
    expect([...byStatus.keys()].filter((s) => s >= 500)).toEqual([]);
    // Both paths were exercised in earnest, not just the envelope checks.
    expect(ok).toBeGreaterThan(COUNT * 0.2);
    expect(rejected).toBeGreaterThan(COUNT * 0.2);
    // Exactly one audit record per answered review, one log line per rejected one.
    expect(counts.audit - countsBefore.audit).toBe(ok);
    expect(counts.log - countsBefore.log).toBe(rejected);
    // Loose bound: a leak of even 1 KiB per review would show as ~8 MiB over the measured stretch.
    expect(heapEnd - heapWarm).toBeLessThan(24 * 2 ** 20);

    const health = await server.get('/healthz');
    expect(health.status).toBe(200);
  }, 120_000);
});
