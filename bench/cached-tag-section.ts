/**
 * Section `cachedtag` (issue 26 goal 1): cached decisions for images referenced by tag, over HTTPS,
 * against the bare Fastify server parsing the same review. The key-signed 5/20/50 KB pods of the
 * `cached` section with tags instead of digests, and the issue's own review: a Deployment whose pod
 * has `app:small` and `app@sha256:…` under a size policy, beside the same review with the digest
 * reference only. A tag's reuse lasts its tag window (tagTtl, 5 s): one HEAD per tag per window
 * under load, counted at the proxy.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pushSignedImage } from '../test/helpers/signed-images.js';
import type { BenchContext } from './context.js';
import { cpuMicros } from './common.js';
import { closedLoop, pool, send, type LoadResult, type Target } from './load.js';
import type { Server } from './child.js';
import { CONNECTIONS, medianBy, PAIRS, review, SECONDS, WARMUP_SECONDS } from './settings.js';

const TAG_TTL_SECONDS = 5; // the registry client's default (registry/content-cache.ts)
const TARGET = 0.8;

const SIZE_POLICY = `apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: { name: small-images }
spec:
  mode: enforce
  onError: deny
  images: [{ glob: "**" }]
  size: { maxCompressed: 1Gi }
`;

/** A CREATE review of a Deployment whose pod template runs `images`, as the API server sends it. */
function deploymentReview(images: readonly string[], uid: string): string {
  const template = {
    metadata: { labels: { app: 'web' } },
    spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) },
  };
  const object = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template },
  };
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      namespace: 'default',
      operation: 'CREATE',
      userInfo: { username: 'alice@example.com', groups: ['system:authenticated'] },
      object,
      dryRun: false,
    },
  });
}

interface Pair {
  b: LoadResult;
  i: LoadResult;
  /** The same pod with its images by digest, on the same imagegate server, right after `i`. */
  d?: LoadResult;
  cpuB: number;
  cpuI: number;
}

/** Baseline and imagegate alternately, PAIRS times; the pair with the median ratio. */
async function maxThroughput(
  baseline: Server,
  imagegate: Server,
  ca: string,
  bodies: { body: string; digestBody?: string | undefined },
  warmup: number,
): Promise<{ median: Pair; pairs: Pair[] }> {
  const tb: Target = { url: baseline.url, ca, path: '/validate', body: bodies.body };
  const ti: Target = { ...tb, url: imagegate.url };
  const td = bodies.digestBody !== undefined ? { ...ti, body: bodies.digestBody } : undefined;
  await closedLoop(tb, CONNECTIONS, warmup);
  await closedLoop(ti, CONNECTIONS, warmup);
  if (td !== undefined) await closedLoop(td, CONNECTIONS, 1);
  const pairs: Pair[] = [];
  for (let n = 0; n < PAIRS; n++) {
    const c0 = await baseline.cpu();
    const b = await closedLoop(tb, CONNECTIONS, SECONDS);
    const c1 = await baseline.cpu();
    const i0 = await imagegate.cpu();
    const i = await closedLoop(ti, CONNECTIONS, SECONDS);
    const i1 = await imagegate.cpu();
    const d = td !== undefined ? await closedLoop(td, CONNECTIONS, SECONDS) : undefined;
    const cpu = { cpuB: cpuMicros(c0, c1) / b.requests, cpuI: cpuMicros(i0, i1) / i.requests };
    pairs.push({ b, i, ...(d !== undefined ? { d } : {}), ...cpu });
  }
  return { median: medianBy(pairs, (p) => p.i.rps / p.b.rps), pairs };
}

export async function cachedTagSection(ctx: BenchContext): Promise<void> {
  const { seeder, key, policy, profileDir, proxy, child, row, results } = ctx;
  const fast = await proxy(0);
  const app = `${fast.host}/cachedtag/app`;
  const sidecar = `${fast.host}/cachedtag/sidecar`;
  const appDigest = await pushSignedImage(seeder, fast.host, 'cachedtag/app', key, 'small');
  const sidecarDigest = await pushSignedImage(seeder, fast.host, 'cachedtag/sidecar', key, 'v1');
  const dir = await mkdtemp(join(tmpdir(), 'imagegate-bench-tag-'));
  const sizePolicy = join(dir, 'size.yaml');
  await writeFile(sizePolicy, SIZE_POLICY);
  const profile = process.env.BENCH_PROFILE === '1' ? profileDir : undefined;
  const baseline = await child({ kind: 'baseline' });
  const out: Record<string, unknown> = {};
  const cases: { name: string; policy: string; body: string; digestBody?: string; tags: number }[] = [
    ...[5, 20, 50].map((kb) => ({
      name: `cached by tag ${kb} KB (key-signed, 2 tags)`,
      policy,
      body: review([`${app}:small`, `${sidecar}:v1`], kb * 1024),
      digestBody: review([`${app}@${appDigest}`, `${sidecar}@${sidecarDigest}`], kb * 1024),
      tags: 2,
    })),
    {
      name: 'issue review: Deployment, app:small + app@sha256 (size policy)',
      policy: sizePolicy,
      body: deploymentReview([`${app}:small`, `${app}@${appDigest}`], 'bench-deploy-tag'),
      tags: 1,
    },
    {
      name: 'issue review, digest only: Deployment, app@sha256 (size policy)',
      policy: sizePolicy,
      body: deploymentReview([`${app}@${appDigest}`], 'bench-deploy-digest'),
      tags: 0,
    },
  ];
  let server: { policy: string; s: Server } | undefined;
  for (const c of cases) {
    // a fresh server gets the full warm-up (JIT tiering), later bodies on it 1 s
    const warmup = server?.policy !== c.policy ? WARMUP_SECONDS : 1;
    if (server?.policy !== c.policy) {
      await server?.s.stop();
      server = {
        policy: c.policy,
        s: await child({ kind: 'imagegate', policy: c.policy, registry: fast.host }, profile),
      };
    }
    // the first review fetches and verifies; what follows is the cached path
    const ti: Target = { url: server.s.url, ca: ctx.ca, path: '/validate', body: c.body };
    const warm = pool(ti, 1);
    const first = await send(warm, ti);
    await warm.close();
    if (!first.allowed) throw new Error(`${c.name}: not allowed, check the bench policy`);
    const before = fast.log.length;
    const started = performance.now();
    const { median, pairs } = await maxThroughput(
      baseline,
      server.s,
      ctx.ca,
      { body: c.body, digestBody: c.digestBody },
      warmup,
    );
    const seconds = (performance.now() - started) / 1000;
    const heads = fast.log.slice(before).filter((r) => r.startsWith('HEAD ')).length;
    const other = fast.log.length - before - heads;
    const { b, i, cpuB, cpuI } = median;
    const ratio = i.rps / b.rps;
    out[c.name] = { bytes: c.body.length, median, pairs, registry: { heads, other } };
    row(
      `${c.name}: max throughput`,
      `${i.rps.toFixed(0)}/s`,
      `${b.rps.toFixed(0)}/s`,
      ratio,
      `≥ ${TARGET.toFixed(2)}`,
      ratio >= TARGET,
      `CPU: imagegate adds ${(cpuI - cpuB).toFixed(0)} µs per request to the baseline's ` +
        `${cpuB.toFixed(0)}; ${TARGET} allows ${(cpuB * (1 / TARGET - 1)).toFixed(0)}`,
    );
    // The same server answering the same pod by digest, alternated with it: robust to the machine's
    // load, which moves both alike (the ratio to the bare server moves with how busy the cores are).
    const versus = pairs.filter((p) => p.d !== undefined);
    if (versus.length > 0) {
      const m = medianBy(versus, (p) => p.i.rps / (p.d?.rps ?? 1));
      const against = m.d?.rps ?? Number.NaN;
      row(
        `${c.name}: against the same pod by digest, same server`,
        `${m.i.rps.toFixed(0)}/s`,
        `${against.toFixed(0)}/s`,
        m.i.rps / against,
        '≥ 0.90',
        m.i.rps / against >= 0.9,
        `by tag ${(m.i.rps / against).toFixed(2)} × by digest in the median of ${versus.length} alternated runs`,
      );
    }
    // Each tag is asked again (one HEAD) once per tag window while load runs; nothing else.
    const allowed = c.tags * Math.ceil(seconds / TAG_TTL_SECONDS + 1);
    row(
      `${c.name}: registry requests under load (HEAD / other)`,
      `${heads} / ${other}`,
      `≤ ${allowed} / 0`,
      allowed > 0 ? heads / allowed : heads,
      `≤ 1 HEAD per tag per ${TAG_TTL_SECONDS} s`,
      heads <= allowed && other === 0,
      `${other} requests other than the tags' HEADs`,
    );
  }
  await server?.s.stop();
  await baseline.stop();
  results.cachedTag = out;
}
