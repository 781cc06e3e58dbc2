/**
 * The bench's "real registry" section: imagegate against an HTTPS registry with a Bearer token realm
 * on another host and blob downloads redirected to a CDN host (bench/real-registry.ts), each adding
 * DELAY_MS per request. Counts TLS handshakes per host, token requests per scope and round trips,
 * and compares cold latency with L_min (see docs/benchmarks.md for how L_min is counted).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import type { TestRegistry } from '../test/helpers/registry.js';
import type { RegistrySeeder } from '../test/helpers/registry-seeder.js';
import { pushSignedImage, type SigningKey } from '../test/helpers/signed-images.js';
import { makeTlsCert } from '../test/helpers/tls.js';
import { cpuMicros, type Row } from './common.js';
import { percentile, pool, send, type Target } from './load.js';
import { startRealRegistry } from './real-registry.js';

const DELAY_MS = 20;

interface ServerLike {
  url: string;
  /** The server process's CPU usage (for the `why` of a missed latency goal). */
  cpu(): Promise<NodeJS.CpuUsage>;
  stop(): Promise<void>;
}

const cpuMs = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage): number => cpuMicros(a, b) / 1000;

export interface RealSectionInput {
  registry: TestRegistry;
  seeder: RegistrySeeder;
  key: SigningKey;
  policy: string;
  work: string;
  ca: string;
  trials: number;
  child(
    config: { kind: 'imagegate'; policy: string; registry: string; secure: boolean },
    profile?: string,
    env?: Record<string, string>,
  ): Promise<ServerLike>;
  row: Row;
  review(images: string[]): string;
}

/** One warm round trip through the registry host: a manifest GET with a valid token, on a kept-alive connection. */
async function measureRtt(host: string, ca: string, repo: string, digest: string): Promise<number> {
  const agent = new Agent({ connect: { ca } });
  try {
    const scope = `repository:${repo}:pull`;
    const challenge = await request(`https://${host}/v2/${repo}/manifests/${digest}`, { dispatcher: agent });
    await challenge.body.dump();
    const realm = /realm="([^"]+)"/.exec(String(challenge.headers['www-authenticate']))?.[1] ?? '';
    const t = await request(`${realm}?service=bench-registry&scope=${encodeURIComponent(scope)}`, {
      dispatcher: agent,
    });
    const { token } = (await t.body.json()) as { token: string };
    const times: number[] = [];
    for (let i = 0; i < 8; i++) {
      const s = performance.now();
      const res = await request(`https://${host}/v2/${repo}/manifests/${digest}`, {
        dispatcher: agent,
        headers: { authorization: `Bearer ${token}`, accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      await res.body.arrayBuffer();
      times.push(performance.now() - s);
    }
    times.sort((a, b) => a - b);
    return percentile(times, 50);
  } finally {
    await agent.close();
  }
}

export async function realRegistrySection(input: RealSectionInput): Promise<Record<string, unknown>> {
  process.stderr.write('real registry (HTTPS, token realm, CDN redirects)\n');
  const cert = await makeTlsCert();
  const caFile = join(input.work, 'real-registry-ca.pem');
  await writeFile(caFile, cert.certPem);
  const real = await startRealRegistry(input.registry.url, cert, { delayMs: DELAY_MS });
  const out: Record<string, unknown> = { delayMs: DELAY_MS };
  try {
    const push = async (repo: string): Promise<string> =>
      `${real.host}/${repo}@${await pushSignedImage(input.seeder, real.host, repo, input.key)}`;
    const rttDigest = await pushSignedImage(input.seeder, real.host, 'real/rtt', input.key);
    const rtt = await measureRtt(real.host, cert.certPem, 'real/rtt', rttDigest);
    out.rttMs = rtt;
    const server = await input.child(
      { kind: 'imagegate', policy: input.policy, registry: real.host, secure: true },
      undefined,
      { NODE_EXTRA_CA_CERTS: caFile },
    );
    const t: Target = { url: server.url, ca: input.ca, path: '/validate', body: '' };
    const client = pool(t, 2);
    try {
      // 1. The first pod of a fresh process: handshakes, the challenge and the token are in its path.
      real.reset();
      const firstImage = await push('real/first/app');
      const c0 = await server.cpu();
      const first = await send(client, t, input.review([firstImage]));
      const firstCpu = cpuMs(c0, await server.cpu());
      const firstCounts = structuredClone(real.counts);
      const firstChallenges = real.challenges;
      // L_min: handshake to the registry, the 401 challenge, handshake + token at the realm, then the
      // .sig tag → its blob (307 at the registry) → handshake + the CDN's answer: 5 delayed round trips.
      const lMinFirst = 5 * rtt;
      out.first = { ms: first.ms, allowed: first.allowed, counts: firstCounts, challenges: firstChallenges };
      input.row(
        'real registry: first pod (1 image), cold process: latency',
        `${first.ms.toFixed(1)} ms`,
        `L_min ${lMinFirst.toFixed(1)} ms`,
        first.ms / lMinFirst,
        '≤ 1.20',
        first.allowed && first.ms / lMinFirst <= 1.2,
        `the first review of a fresh process: ${firstCpu.toFixed(0)} ms of server CPU ` +
          `(${process.env.BENCH_WARM_UP === '0' ? 'no warm-up: ' : 'after serve --warm-up, which covers plain HTTP and key signatures: '}` +
          'unoptimised code on its first run, three TLS handshakes, the first key and token)',
      );
      const hs = firstCounts.registry.handshakes + firstCounts.auth.handshakes + firstCounts.cdn.handshakes;
      input.row(
        'real registry: first pod: TLS handshakes (registry/realm/CDN)',
        `${firstCounts.registry.handshakes}/${firstCounts.auth.handshakes}/${firstCounts.cdn.handshakes}`,
        '1/1/1',
        hs / 3,
        'reported',
        true,
      );

      // 2. Cold pods of 1 and 20 new images (new repositories: one new token scope each).
      for (const n of [1, 20]) {
        const trials = n === 20 ? Math.max(2, Math.round(input.trials * 0.6)) : input.trials;
        const latencies: number[] = [];
        real.reset();
        let denied = 0;
        let scopes = 0;
        let cpu = 0;
        for (let trial = 0; trial < trials; trial++) {
          const images = await Promise.all(
            Array.from({ length: n }, (_, k) => push(`real/n${n}/t${trial}/i${k}`)),
          );
          scopes += n;
          const c0 = await server.cpu();
          const r = await send(client, t, input.review(images));
          cpu += cpuMs(c0, await server.cpu());
          latencies.push(r.ms);
          if (!r.allowed) denied++;
        }
        latencies.sort((a, b) => a - b);
        const median = percentile(latencies, 50);
        // Warm pools, known realm: token → .sig tag → blob (307) → CDN: 4 delayed round trips.
        const lMin = 4 * rtt;
        const tokenRequests = [...real.tokens.values()].reduce((a, b) => a + b, 0);
        out[`n${n}`] = {
          trials,
          latenciesMs: latencies,
          lMinMs: lMin,
          denied,
          counts: structuredClone(real.counts),
          tokenRequests,
          scopes,
          challenges: real.challenges,
        };
        input.row(
          `real registry: cold ${n} images, +${DELAY_MS} ms: median latency`,
          `${median.toFixed(1)} ms`,
          `L_min ${lMin.toFixed(1)} ms`,
          median / lMin,
          '≤ 1.20',
          denied === 0 && median / lMin <= 1.2,
          `CPU: ${(cpu / trials).toFixed(0)} ms of server CPU per review (${n} × ` +
            `${(cpu / trials / n).toFixed(2)} ms) on one thread, beside L_min ${lMin.toFixed(1)} ms`,
        );
        input.row(
          `real registry: cold ${n} images: token requests per scope`,
          `${tokenRequests} for ${scopes}`,
          '1 per scope',
          tokenRequests / scopes,
          '= 1.00',
          tokenRequests === scopes,
        );
        const c = real.counts;
        input.row(
          `real registry: cold ${n} images: new TLS handshakes (registry/realm/CDN), ${trials} pods`,
          `${c.registry.handshakes}/${c.auth.handshakes}/${c.cdn.handshakes}`,
          `requests ${c.registry.requests}/${c.auth.requests}/${c.cdn.requests}`,
          (c.registry.handshakes + c.auth.handshakes + c.cdn.handshakes) /
            Math.max(1, c.registry.requests + c.auth.requests + c.cdn.requests),
          'reported',
          true,
        );
      }
    } finally {
      await client.close();
      await server.stop();
    }
  } finally {
    await real.stop();
  }
  return out;
}
