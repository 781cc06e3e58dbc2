/**
 * Throws ≥ 10,000 mutated AdmissionReviews, built from the real shared fixtures, at the running HTTPS
 * server with 32 requests in flight over keep-alive connections. A seeded PRNG makes every failure
 * reproducible: IMAGEGATE_FUZZ_SEED=<seed> replays a run, IMAGEGATE_FUZZ_COUNT=<n> changes its size.
 */
import { readdirSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUPPORTED_KINDS } from '../../src/admission/pod-spec.js';
import { podReview, reviewBodyOf } from '../helpers/admission-fixtures.js';
import { buildEngine, writePolicyFile } from '../helpers/engine.js';
import { fixturePath, HAVE_FIXTURES } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

const SEED = Number(process.env.IMAGEGATE_FUZZ_SEED ?? 0x1ea9e7);
const COUNT = Number(process.env.IMAGEGATE_FUZZ_COUNT ?? 10_000);
const IN_FLIGHT = 32;

const POLICIES = `
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: { name: prod-digests }
spec:
  mode: enforce
  images: [{ glob: "registry.example.com/**" }, { glob: "docker.io/library/*" }]
  exclude: [{ glob: "docker.io/library/busybox" }]
  namespaces: { include: ["prod-*", "default", "connaisseur"], exclude: ["kube-system"] }
  requireDigest: true
---
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: { name: everything-audit }
spec:
  mode: audit
  images: [{ glob: "**" }]
  requireDigest: true
  onError: allow
`;

/** mulberry32: small, fast, and the same sequence for the same seed on every platform. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const UNICODE = [
  'é',
  'ß',
  '日本',
  '\u202e',
  '\u200b',
  '\u0000',
  '\ud800',
  '\udfff',
  '😀',
  '\ufeff',
  '\\',
  '"',
  '\n',
];
const DEEP = '__IMAGEGATE_DEEP__';

class Mutator {
  constructor(private readonly rnd: () => number) {}

  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  chance(p: number): boolean {
    return this.rnd() < p;
  }

  string(): string {
    switch (this.int(5)) {
      case 0:
        return '';
      case 1:
        return Array.from({ length: 1 + this.int(8) }, () => this.pick(UNICODE)).join('');
      case 2:
        return this.pick([
          'nginx',
          'registry.example.com/app:1',
          `x@sha256:${'a'.repeat(64)}`,
          'UPPER/Case',
          '::',
          '@',
          'a'.repeat(300),
        ]);
      case 3:
        return String.fromCharCode(...Array.from({ length: 1 + this.int(20) }, () => this.int(0x3000)));
      default:
        return Math.random === this.rnd ? '' : this.rnd().toString(36);
    }
  }

  value(depth = 0): Json {
    switch (this.int(depth > 2 ? 5 : 7)) {
      case 0:
        return null;
      case 1:
        return this.chance(0.5);
      case 2:
        return this.pick([0, -1, 1.5, 1e308, -0, 2 ** 53 + 1]);
      case 3:
      case 4:
        return this.string();
      case 5:
        return Array.from({ length: this.int(4) }, () => this.value(depth + 1));
      default:
        return Object.fromEntries(
          Array.from({ length: this.int(4) }, () => [this.string(), this.value(depth + 1)]),
        );
    }
  }

  /** A random container (object or array) inside `root`, with the path to it. */
  node(root: Json): { parent: Json[] | { [k: string]: Json }; key: string | number } | undefined {
    let current: Json = root;
    let found: { parent: Json[] | { [k: string]: Json }; key: string | number } | undefined;
    for (let depth = 0; depth < 12; depth++) {
      if (current === null || typeof current !== 'object') break;
      const keys: (string | number)[] = Array.isArray(current)
        ? current.map((_, i) => i)
        : Object.keys(current);
      if (keys.length === 0) break;
      const key = this.pick(keys);
      found = { parent: current, key };
      current = (current as Record<string | number, Json>)[key] as Json;
      if (this.chance(0.2)) break;
    }
    return found;
  }

  /** Mutates mostly inside request.object, so that many mutants pass the envelope checks. */
  mutate(body: Json): void {
    const request =
      body !== null && typeof body === 'object' && !Array.isArray(body) ? body.request : undefined;
    const object =
      request !== null && typeof request === 'object' && !Array.isArray(request) && request !== undefined
        ? request.object
        : undefined;
    const r = this.rnd();
    const root =
      r < 0.6 && object !== undefined ? object : r < 0.85 && request !== undefined ? request : body;
    const at = this.node(root);
    if (at === undefined) return;
    const { parent, key } = at;
    const get = (): Json => (parent as Record<string | number, Json>)[key] as Json;
    const set = (v: Json): void => {
      (parent as Record<string | number, Json>)[key] = v;
    };
    const current = get();
    switch (this.int(10)) {
      case 0:
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key as string];
        return;
      case 1:
      case 2:
        set(this.value());
        return;
      case 3:
        if (typeof current === 'string') set(current.slice(0, this.int(current.length + 1)));
        else set(this.string());
        return;
      case 4:
        set(this.pick(['x', 'é', '\ud800', 'a/']).repeat(1 + this.int(this.chance(0.1) ? 200_000 : 2_000)));
        return;
      case 5:
        set(`${DEEP}${1 + this.int(this.chance(0.2) ? 20_000 : 200)}`);
        return;
      case 6:
        if (Array.isArray(current)) set(Object.fromEntries(current.map((v, i) => [String(i), v])));
        else if (current !== null && typeof current === 'object') set(Object.values(current));
        else set([current]);
        return;
      case 7:
        if (typeof current === 'string') set(current + this.pick(UNICODE) + current);
        else set(this.pick(UNICODE));
        return;
      case 8:
        // Values that pass the envelope checks, to reach deeper code.
        set(
          this.pick([
            ...SUPPORTED_KINDS,
            'CREATE',
            'UPDATE',
            'DELETE',
            'CONNECT',
            'admission.k8s.io/v1',
            'AdmissionReview',
          ]),
        );
        return;
      default:
        if (Array.isArray(current) && current.length > 0) set([...current, ...current]);
        else set(this.value());
    }
  }
}

/** Serialises a mutated body, expanding deep-nesting markers into real nested arrays/objects. */
function serialise(body: Json, m: Mutator): string {
  return JSON.stringify(body).replace(new RegExp(`"${DEEP}(\\d+)"`, 'g'), (_, n: string) => {
    const depth = Number(n);
    return m.chance(0.5)
      ? `${'['.repeat(depth)}${']'.repeat(depth)}`
      : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  });
}

function corpus(): Json[] {
  const files = (readdirSync(fixturePath('admission-review'), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.json'))
    .sort();
  const bodies = files.map((f) => reviewBodyOf(f) as Json);
  // Connaisseur's v1beta1 reviews as v1, so their (valid) requests reach the evaluation too.
  const upgraded = bodies
    .filter((b): b is { [k: string]: Json } => typeof b === 'object' && b !== null && !Array.isArray(b))
    .filter((b) => b.apiVersion === 'admission.k8s.io/v1beta1')
    .map((b) => ({ ...b, apiVersion: 'admission.k8s.io/v1' }));
  const made = [
    podReview(['registry.example.com/prod/api:2', `registry.example.com/prod/api@sha256:${'b'.repeat(64)}`], {
      namespace: 'prod-eu',
    }),
    podReview(['nginx', 'busybox', 'quay.io/x/y:1'], { namespace: 'default', dryRun: true }),
  ] as unknown as Json[];
  return [...bodies, ...upgraded, ...made];
}

interface Sent {
  text: string;
  contentType: string;
  uid: unknown;
}

function buildCase(seedBodies: readonly Json[], m: Mutator): Sent {
  if (m.chance(0.03)) {
    const bytes = Buffer.from(Array.from({ length: m.int(512) }, () => m.int(256)));
    return {
      text: bytes.toString('latin1'),
      contentType: m.chance(0.8) ? 'application/json' : 'application/octet-stream',
      uid: undefined,
    };
  }
  const body = structuredClone(m.pick(seedBodies));
  const mutations = m.chance(0.1) ? 0 : 1 + m.int(3);
  for (let i = 0; i < mutations; i++) m.mutate(body);
  const request =
    body !== null && typeof body === 'object' && !Array.isArray(body) ? (body.request as Json) : undefined;
  const uid =
    request !== null && typeof request === 'object' && !Array.isArray(request) && request !== undefined
      ? request.uid
      : undefined;
  let text = serialise(body, m);
  if (m.chance(0.02)) text = text.slice(0, m.int(text.length));
  return { text, contentType: 'application/json', uid };
}

const ERROR_CODES = new Set([
  'BODY_NOT_JSON',
  'BODY_TOO_LARGE',
  'NOT_ADMISSION_REVIEW',
  'UNSUPPORTED_API_VERSION',
  'MISSING_UID',
  'NO_POD_SPEC',
  'UNSUPPORTED_MEDIA_TYPE',
]);

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
