/**
 * Bytes per cached decision, run as `node --expose-gc --import tsx bench/memory.ts`: one real verdict
 * (a key-signed image verified from an in-memory registry) is the template; each entry is a copy with
 * its own digest strings, stored under the key the verifier uses. Heap is measured after full GCs.
 */
import { compileSignatureVerifier, VerdictCache } from '../src/checks/signature/index.js';
import type { TrustedRootStore } from '../src/checks/signature/trusted-roots.js';
import { parseReference } from '../src/registry/reference.js';
import { MemoryRegistry } from '../test/helpers/memory-registry.js';
import { pushSignedImage, signingKey } from '../test/helpers/signed-images.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

function heap(): number {
  for (let i = 0; i < 4; i++) gc!();
  return process.memoryUsage().heapUsed;
}

const host = 'registry.imagegate.test';
const repo = 'team/app';
const key = signingKey();
const reg = new MemoryRegistry();
const digest = await pushSignedImage(
  {
    putBlob: async (_r, b) => void reg.putBlob(b),
    putManifest: async (r, b, t) => reg.putManifest(`${host}/${r}`, b, t),
  },
  host,
  repo,
  key,
);
const spec = { authorities: [{ name: 'release', key: { pem: key.publicPem } }] };
const probe = new VerdictCache();
const verifier = compileSignatureVerifier(spec, 'p', {
  trustedRoots: { has: () => true, ready: () => undefined } as unknown as TrustedRootStore,
  cache: probe,
});
const verdict = await verifier.verify(
  reg,
  parseReference(`${host}/${repo}@${digest}`),
  digest,
  AbortSignal.timeout(5000),
);
if (!verdict.passed) throw new Error(`template verdict did not pass: ${verdict.message}`);
const template = JSON.stringify({ ...verdict, digests: [] });
const hex = digest.slice('sha256:'.length);

function entry(i: number): { key: string; verdict: typeof verdict } {
  const d = i.toString(16).padStart(64, '0');
  // Fresh strings per entry, as real distinct digests would be.
  const v = JSON.parse(template.replaceAll(hex, d)) as typeof verdict;
  return { key: `AbCdEfGhIjKlMnOpQrStUv ${host}/${repo}@sha256:${d} `, verdict: v };
}

const max = Number(process.argv[2] ?? 100_000);
const cache = new VerdictCache({ maxEntries: max, ttlMs: 3_600_000 });
const base = heap();
const points: { entries: number; bytesPerEntry: number }[] = [];
let i = 0;
for (const target of [10_000, max]) {
  for (; i < target; i++) {
    const e = entry(i);
    cache.set(e.key, e.verdict);
  }
  points.push({ entries: cache.size, bytesPerEntry: (heap() - base) / cache.size });
}
const atMax = heap();
for (; i < 2 * max; i++) {
  const e = entry(i);
  cache.set(e.key, e.verdict);
}
const atTwice = heap();
process.stdout.write(
  JSON.stringify({
    templateBytes: template.length,
    points,
    bound: {
      maxEntries: max,
      inserted: 2 * max,
      size: cache.size,
      heapAtMax: atMax - base,
      heapAfter2x: atTwice - base,
    },
  }) + '\n',
);
