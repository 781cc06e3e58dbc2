/**
 * `imagegate serve` as a process with the chart's runtime settings, fed registry answers of MiBs
 * (the hostile-registry fuzzer's padded documents, docs/security.md "Memory"), round after round.
 * What grew in the fuzzer's long runs was not live data: glibc's main heap (`[heap]`), where the
 * MiB-sized Buffers of registry answers were carved once glibc had raised its mmap threshold, kept
 * the freed gaps resident, and V8's young generation grew to 128 MiB. With the chart's
 * MALLOC_MMAP_THRESHOLD_ and --max-semi-space-size, the main heap must not keep what the rounds
 * freed, and the process stays under its memory limit.
 */
import { readFile } from 'node:fs/promises';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OCI_MANIFEST, startHostileRegistry, type HostileRegistry } from '../helpers/hostile-registry.js';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const ROUNDS = 16;
const IMAGES_PER_REVIEW = 4;
const REVIEWS_PER_ROUND = 4;
/** Bound on the main malloc heap's resident size over the first EARLY_ROUNDS rounds (see the assertion). */
const MAIN_HEAP_MIB = 85;
const EARLY_ROUNDS = 3;

/** Resident MiB of the process's main malloc heap (the `[heap]` mapping) and of all of it. */
async function heapRss(pid: number): Promise<{ heapMiB: number; rssMiB: number }> {
  const smaps = await readFile(`/proc/${pid}/smaps`, 'utf8');
  let heap = 0;
  let rss = 0;
  let inHeap = false;
  for (const line of smaps.split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inHeap = line.trimEnd().endsWith('[heap]');
    const m = /^Rss:\s+(\d+) kB/.exec(line);
    if (m === null) continue;
    rss += Number(m[1]);
    if (inHeap) heap += Number(m[1]);
  }
  return { heapMiB: heap / KiB, rssMiB: rss / KiB };
}

describe('imagegate serve returns the memory of MiB-sized registry answers (chart runtime settings)', () => {
  let reg: HostileRegistry;
  let serve: ServeProcess;
  let seed = 20;
  /** A deterministic size: documents of 0.3–3.9 MiB, each a little different, as the fuzzer's are. */
  const size = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return 300 * KiB + (seed % (3600 * KiB));
  };

  beforeAll(async () => {
    reg = await startHostileRegistry();
    serve = await startServeProcess({
      policies: [
        {
          apiVersion: 'imagegate.dev/v1alpha1',
          kind: 'ImagePolicy',
          metadata: { name: 'size' },
          spec: {
            mode: 'enforce',
            onError: 'deny',
            images: [{ glob: `${reg.host}/big/**` }],
            size: { maxCompressed: '1Gi' },
          },
        },
      ],
      args: ['--insecure-registry', reg.host],
    });
  }, 120_000);

  afterAll(async () => {
    await serve?.stop();
    await reg?.stop();
  });

  /** One round: REVIEWS_PER_ROUND reviews at once, each of IMAGES_PER_REVIEW padded manifests. */
  const round = async (r: number): Promise<void> => {
    const config = reg.blob(
      '{"architecture":"amd64","os":"linux"}',
      'application/vnd.oci.image.config.v1+json',
    );
    const layer = reg.blob(Buffer.alloc(512, 1));
    const reviews = Array.from({ length: REVIEWS_PER_ROUND }, (_, v) => {
      const images = Array.from({ length: IMAGES_PER_REVIEW }, (_, i) => {
        const repo = `big/r${r}v${v}i${i}`;
        const pad = 'p'.repeat(size());
        reg.manifest(
          repo,
          { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer], annotations: { pad } },
          { tag: '1' },
        );
        return `${reg.host}/${repo}:1`;
      });
      return serve.review(`big-${r}-${v}`, images, '10s');
    });
    for (const a of await Promise.all(reviews)) {
      expect(a.status).toBe(200);
      expect(a.allowed, a.message).toBe(true);
    }
  };

  /** serve's young generation committed now (prom-client's heap-space gauge, `/metrics`), in MiB. */
  const newSpaceMiB = async (): Promise<number> => {
    const res = await request(`https://localhost:${serve.port}/metrics`, { dispatcher: serve.agent });
    const text = await res.body.text();
    const m = /^imagegate_nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)/m.exec(text);
    if (m === null) throw new Error('no new-space gauge in /metrics');
    return Number(m[1]) / MiB;
  };

  it("keeps MiB-sized answers out of its main heap round after round, its young generation within the chart's semi-spaces, under the memory limit", async () => {
    const rss: number[] = [];
    const heap: number[] = [];
    let newSpace = 0;
    for (let r = 0; r < ROUNDS; r++) {
      await round(r);
      const h = await heapRss(serve.pid);
      rss.push(h.rssMiB);
      heap.push(h.heapMiB);
      newSpace = Math.max(newSpace, await newSpaceMiB());
    }
    const { hwmMiB } = await serve.rss();
    // serve's CPU seconds (utime + stime), printed beside the figures (a smaller young generation
    // means more scavenges)
    const stat = (await readFile(`/proc/${serve.pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
    const cpuS = (Number(stat[11]) + Number(stat[12])) / 100;
    console.log(
      `[native-memory] RSS per round ${rss.map((v) => v.toFixed(0)).join(' ')} MiB; main heap ` +
        `${heap.map((v) => v.toFixed(0)).join(' ')} MiB; young generation at most ${newSpace.toFixed(0)} MiB; ` +
        `peak RSS ${hwmMiB.toFixed(0)} of ${serve.memory.limitMiB}; ${cpuS.toFixed(1)} s of CPU`,
    );
    // Node 24's default let it grow to 128 MiB (two 64 MiB semi-spaces) under the fuzzer's load
    const semi = serve.memory.semiSpaceMiB;
    expect(semi, 'the chart sets nodeSemiSpaceMiB').toBeDefined();
    expect(newSpace).toBeLessThanOrEqual(2 * semi!);
    // glibc's default carves the answers' Buffers from the main heap once a freed one raised its
    // threshold, and keeps the gaps resident: 88–129 MiB over the first three rounds, 145–180
    // later. With the chart's threshold 38–53 over the first three; what creeps up later (to
    // 95–112) is mostly the 64 KiB socket reads' gaps, which the threshold does not cover, so the
    // bound is on the first rounds
    expect(Math.max(...heap.slice(0, EARLY_ROUNDS))).toBeLessThan(MAIN_HEAP_MIB);
    expect(hwmMiB).toBeLessThan(serve.memory.limitMiB);
  }, 300_000);
});
