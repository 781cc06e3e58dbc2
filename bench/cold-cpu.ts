/**
 * Server CPU per cold signed image, in-process and without HTTPS to imagegate (what is left is the
 * cold path itself), run as `node --import tsx bench/cold-cpu.ts [images]`: reviews of pods of 20
 * never-seen key-signed images (legacy `.sig`) against the real docker-registry on loopback, with
 * process.cpuUsage() around them. Next to it, the floor this machine sets: a bare undici GET of the
 * same kinds (a 200 manifest, a 404 tag) with nothing of imagegate around it, 20 in flight. A cold
 * image needs 4 requests (3 answered 200: manifest, `.sig` tag, payload blob; 1 answered 404: the
 * referrers tag, once the process knows the registry has no referrers API) plus one ECDSA verification.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { setupEngine } from '../src/cli/setup.js';
import { runReview } from '../src/review/run.js';
import { validateRequest } from '../src/review/validate.js';
import { startRegistry } from '../test/helpers/registry.js';
import { RegistrySeeder } from '../test/helpers/registry-seeder.js';
import { keyPolicyYaml, pushSignedImage, signingKey } from '../test/helpers/signed-images.js';

const N = Math.max(20, Math.round(Number(process.argv[2] ?? 100) / 20) * 20);
const POD = 20;
const registry = await startRegistry();
const work = await mkdtemp(join(tmpdir(), 'imagegate-cold-cpu-'));
try {
  const seeder = new RegistrySeeder(registry);
  const key = signingKey();
  const policy = join(work, 'policy.yaml');
  await writeFile(policy, keyPolicyYaml(key));
  const host = registry.host;
  const images: string[] = [];
  for (let i = 0; i < N + POD; i++) {
    images.push(`${host}/cold/i${i}@${await pushSignedImage(seeder, host, `cold/i${i}`, key)}`);
  }
  const setup = await setupEngine(
    { policy: [policy], insecureRegistry: [host], allowRegistry: [], trustedRoot: [], logLevel: 'info' },
    pino({ level: 'silent' }),
  );
  const review = (pod: string[]): unknown => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'cold',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'default',
      operation: 'CREATE',
      userInfo: { username: 'bench' },
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'cold', namespace: 'default' },
        spec: { containers: pod.map((image, i) => ({ name: `c${i}`, image })) },
      },
    },
  });
  const options = { engine: setup.engine, handler: validateRequest, mayDeny: true, audit: { write() {} } };
  const run = async (pod: string[]): Promise<void> => {
    const r = await runReview(review(pod), options);
    if (!r.response.response.allowed) throw new Error(`cold pod denied: ${JSON.stringify(r.response)}`);
  };
  await run(images.slice(N)); // warm-up (JIT, connections): one pod not measured
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i += POD) await run(images.slice(i, i + POD));
  const c = process.cpuUsage(c0);
  const imageMicros = (c.user + c.system) / N;
  await setup.registry.close();

  const agent = new Agent();
  const digest = images[0]!.split('@')[1]!;
  const get = async (path: string): Promise<void> => {
    const res = await request(`${registry.url}${path}`, {
      dispatcher: agent,
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    await res.body.arrayBuffer();
  };
  const bare = async (path: string): Promise<number> => {
    for (let i = 0; i < 100; i++) await get(path);
    const b0 = process.cpuUsage();
    const n = 2000;
    for (let i = 0; i < n; i += POD) await Promise.all(Array.from({ length: POD }, () => get(path)));
    const b = process.cpuUsage(b0);
    return (b.user + b.system) / n;
  };
  const okMicros = await bare(`/v2/cold/i0/manifests/${digest}`);
  const notFoundMicros = await bare('/v2/cold/i0/manifests/no-such-tag');
  await agent.close();
  process.stdout.write(
    `${JSON.stringify({ images: N, imageMicros, okMicros, notFoundMicros, floorMicros: 3 * okMicros + notFoundMicros })}\n`,
  );
} finally {
  await registry.stop();
  await rm(work, { recursive: true, force: true });
}
