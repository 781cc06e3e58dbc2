/**
 * Server CPU per cold signed image, without HTTPS to imagegate (what is left is the cold path
 * itself), run as `node --import tsx bench/cold-cpu.ts [images]`. This file seeds the real
 * docker-registry on loopback with never-seen signed images of four kinds (legacy `.sig` and Sigstore
 * bundle referrer, each signed with a key and keyless by a test Fulcio/Rekor), then measures in a
 * child that runs the compiled dist/ with plain node, as production runs it (under tsx every named
 * closure is wrapped in `__name()`, which distorts both the CPU and a profile's attributions):
 * bench/cold-cpu-child.mjs. Before measuring, the child warms like a running server (issue 26's goal 2
 * is a cold image on a running server): serve's warm-up (`warmUp`, keyless pods too for a keyless
 * kind, as `serve --warm-up`), then BENCH_WARM_PODS (default 5) unmeasured pods of other never-seen
 * images of the kind. The floor of a kind is bare undici replaying exactly the requests its
 * measured pods made, 20 in flight, in the same process, after replaying every warm-up pod's
 * requests unmeasured (so is the client alone); the older priced floor (requests
 * counted by status, at a bare GET's CPU per 200 and per 404) is reported beside it, and so is the
 * registry client alone replaying the same requests through its own calls (`clientMicros`: what of
 * the gap is the client's, what the rest of the engine's), the main thread's share of the CPU and the
 * new connections of each. The floor and the client replay are also measured again in a fresh process
 * (`freshFloorMicros`, `freshClientMicros`), as warm as the engine was when measured: the in-process
 * replays run after the engine's own 200 images have made undici's code hot. It prints the child's JSON. BENCH_PROFILE=1 makes the
 * child write a CPU profile of each kind's measured pods to
 * bench/results/profiles/cold-cpu-KIND.cpuprofile; BENCH_PROFILE=alloc, a sampled allocation profile
 * (collected objects included) of the same part, cold-cpu-KIND.heapprofile.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { COSIGN_SIGN_PREDICATE } from '../src/checks/signature/signed-payload.js';
import { pushBundleReferrer, pushLegacySignatures } from '../test/helpers/cosign-push.js';
import { startRegistry } from '../test/helpers/registry.js';
import { RegistrySeeder } from '../test/helpers/registry-seeder.js';
import { keyPolicyYaml, pushImage, pushSignedImage, signingKey } from '../test/helpers/signed-images.js';
import { ACME, createTestInstance, signBundleWithKey } from '../test/helpers/test-sigstore.js';
import { podReviewBody } from './common.js';

const here = dirname(fileURLToPath(import.meta.url));
const POD = Number(process.env.BENCH_COLD_POD ?? 20); // BENCH_COLD_POD=1: a review per image
const N = Math.max(POD, Math.round(Number(process.argv[2] ?? 100) / POD) * POD);
const KINDS = (process.env.BENCH_COLD_KINDS ?? 'key-sig,key-bundle,keyless-sig,keyless-bundle').split(',');
// A running server's cold image (issue 26), not a half-warm process's: serve's warm-up, then this many
// unmeasured pods of other never-seen images of the kind. BENCH_WARM_PODS=0: the earlier method (one
// unmeasured pod, no serve warm-up), for comparison.
const WARM_PODS = Math.max(0, Number(process.env.BENCH_WARM_PODS ?? 5));

function keylessPolicyYaml(): string {
  return [
    'apiVersion: imagegate.dev/v1alpha1',
    'kind: ImagePolicy',
    'metadata:',
    '  name: keyless',
    'spec:',
    '  mode: enforce',
    '  onError: deny',
    '  images:',
    "    - glob: '**'",
    '  signature:',
    '    authorities:',
    '      - name: release',
    '        keyless:',
    `          issuer: ${ACME.issuer}`,
    `          subject: ${ACME.subject}`,
    '          trustedRoot: bench',
    '',
  ].join('\n');
}

const registry = await startRegistry();
const work = await mkdtemp(join(tmpdir(), 'imagegate-cold-cpu-'));
try {
  const seeder = new RegistrySeeder(registry);
  const host = registry.host;
  const key = signingKey();
  const sigstore = await createTestInstance(work);
  const keyPolicy = join(work, 'key.yaml');
  const keylessPolicy = join(work, 'keyless.yaml');
  await writeFile(keyPolicy, keyPolicyYaml(key));
  await writeFile(keylessPolicy, keylessPolicyYaml());

  const push = async (kind: string, repo: string): Promise<string> => {
    if (kind === 'key-sig') return pushSignedImage(seeder, host, repo, key);
    const image = await pushImage(seeder, repo);
    const statement = { digest: image.digest, predicateType: COSIGN_SIGN_PREDICATE };
    if (kind === 'key-bundle') {
      await pushBundleReferrer(seeder, repo, image, signBundleWithKey(key.sign, statement));
    } else if (kind === 'keyless-sig') {
      const sig = await sigstore.signLegacy({ digest: image.digest, identity: ACME });
      await pushLegacySignatures(seeder, repo, image.digest, [sig]);
    } else if (kind === 'keyless-bundle') {
      await pushBundleReferrer(
        seeder,
        repo,
        image,
        await sigstore.signBundle({ ...statement, identity: ACME }),
      );
    } else {
      throw new Error(`unknown kind ${kind}`);
    }
    return image.digest;
  };
  const kinds = [];
  for (const kind of KINDS) {
    const images: string[] = [];
    for (let i = 0; i < N + Math.max(1, WARM_PODS) * POD; i++) {
      const repo = `cold/${kind}/i${i}`;
      images.push(`${host}/${repo}@${await push(kind, repo)}`);
    }
    // The reviews' bodies are made here (the child is plain node): the measured pods, then the warm-up ones.
    const pods = (from: number, to: number): string[] => {
      const bodies = [];
      for (let i = from; i < to; i += POD) bodies.push(podReviewBody(images.slice(i, i + POD), 0, 'cold'));
      return bodies;
    };
    kinds.push({
      kind,
      policy: kind.startsWith('keyless') ? keylessPolicy : keyPolicy,
      images,
      warmBodies: pods(N, images.length),
      podBodies: pods(0, N),
    });
  }

  const profileDir = join(here, 'results', 'profiles');
  const profile = process.env.BENCH_PROFILE === '1' || process.env.BENCH_PROFILE === 'alloc';
  const configFile = join(work, 'child.json');
  await writeFile(
    configFile,
    JSON.stringify({
      registry: { host, url: registry.url },
      trustedRoot: `bench=${sigstore.trustedRootPath}`,
      pod: POD,
      images: N,
      serveWarmUp: WARM_PODS > 0,
      kinds,
    }),
  );
  // One process per kind (each its own JIT warm-up, as a fresh server); asynchronously, so that this
  // process's event loop keeps draining the registry's log pipe.
  const child = async (
    what: string,
    dist?: string,
    extra: Record<string, string> = {},
  ): Promise<Record<string, unknown>> => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(here, 'cold-cpu-child.mjs'), configFile, what],
      {
        env: {
          ...process.env,
          ...extra,
          ...(dist !== undefined ? { BENCH_DIST: dist } : {}),
          ...(profile ? { BENCH_PROFILE_DIR: profileDir } : {}),
          ...(process.env.BENCH_PROFILE === 'alloc' ? { BENCH_PROFILE_ALLOC: '1' } : {}),
        },
      },
    );
    return JSON.parse(stdout) as Record<string, unknown>;
  };

  // BENCH_DISTS=a,b[,…]: compare builds (each a compiled dist/src directory), alternating them
  // kind by kind for BENCH_ROUNDS rounds on the same images (a new process is cold again).
  const dists = process.env.BENCH_DISTS?.split(',');
  if (dists !== undefined) {
    const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
    type Measured = { imageMicros: number; floorMicros: number; clientMicros: number };
    const ab: ({ round: number; dist: string; kind: string } & Measured)[] = [];
    for (let round = 1; round <= rounds; round++) {
      for (const { kind } of kinds) {
        for (const dist of dists) {
          const m = (await child(kind, dist)) as Measured;
          const { imageMicros, floorMicros, clientMicros } = m;
          ab.push({ round, dist, kind, imageMicros, floorMicros, clientMicros });
          const ms = (micros: number): string => (micros / 1000).toFixed(2);
          process.stderr.write(
            `round ${round} ${kind} ${dist}: ${ms(imageMicros)} ms (floor ${ms(floorMicros)}, ` +
              `client alone ${ms(clientMicros)})\n`,
          );
        }
      }
    }
    process.stdout.write(`${JSON.stringify({ images: N, ab })}\n`);
  } else {
    const measured = [];
    // The same requests replayed again in a fresh process (floor, then client alone), as warm as the
    // engine was when measured (every warm-up pod's requests first), not after the engine's own run
    // has made undici's code hot (BENCH_FRESH_FLOOR=0: not)
    const fresh = process.env.BENCH_FRESH_FLOOR !== '0';
    const freshReplays = Math.max(1, Number(process.env.BENCH_FRESH_REPLAYS ?? 3));
    for (const { kind } of kinds) {
      const requestsFile = join(work, `${kind}-requests.json`);
      const m = await child(kind, undefined, fresh ? { BENCH_REQUESTS_OUT: requestsFile } : {});
      if (fresh) {
        // One fresh process's floor moved by ±30 % between runs (round 9): the median of several
        // (BENCH_FRESH_REPLAYS, default 3), with their range kept for the row's why
        const replays = [];
        for (let i = 0; i < freshReplays; i++)
          replays.push(await child('replay', undefined, { BENCH_REQUESTS_IN: requestsFile }));
        const floors = replays.map((r) => r.floorMicros as number).sort((a, b) => a - b);
        const clients = replays.map((r) => r.clientMicros as number).sort((a, b) => a - b);
        m.freshFloorMicros = floors[Math.floor(floors.length / 2)];
        m.freshClientMicros = clients[Math.floor(clients.length / 2)];
        m.freshFloorRange = [floors[0], floors[floors.length - 1]];
      }
      measured.push(m);
    }
    const { okMicros, notFoundMicros } = (await child('floor')) as {
      okMicros: number;
      notFoundMicros: number;
    };
    // floorMicros: the kind's own requests replayed by bare undici (cold-cpu-child.mjs); the priced
    // floor (requests counted by status × one GET's cost) is kept beside it for comparison
    const results = measured.map((m) => {
      const requests = m.requestsPerImage as Record<string, number>;
      const pricedFloorMicros = (requests['200'] ?? 0) * okMicros + (requests['404'] ?? 0) * notFoundMicros;
      return {
        ...(m as { kind: string; imageMicros: number; floorMicros: number }),
        requestsPerImage: requests,
        pricedFloorMicros,
      };
    });
    const main = results.find((k) => k.kind === 'key-sig') ?? results[0]!;
    const summary = {
      images: N,
      imageMicros: main.imageMicros,
      okMicros,
      notFoundMicros,
      floorMicros: main.floorMicros,
    };
    const warmth = { warmPods: Math.max(1, WARM_PODS), serveWarmUp: WARM_PODS > 0 };
    process.stdout.write(`${JSON.stringify({ ...summary, ...warmth, kinds: results })}\n`);
  }
} finally {
  await registry.stop();
  await rm(work, { recursive: true, force: true });
}
