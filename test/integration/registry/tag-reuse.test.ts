/**
 * Reused outcomes for images referenced by tag (evaluate.ts, issue 26), against a real docker-registry
 * behind a counting proxy, with the registry client's clock under the test's control: a tag's outcome
 * is reused only while the tag → digest answer is within tagTtl; after it the tag is asked again
 * before anything is reused, and a moved tag is judged on its new digest, never answered from the old
 * digest's outcome. Reuse still stops at the credential that read the image (issue 20, property 6).
 * Both ways a review finds a reused outcome are held to it: evaluateImages (awaiting the credential
 * lookup and the tag window) and, as /validate tries first, reusedVerdict (evaluate/reuse-now.ts:
 * the same lookup synchronously, where the credentials answer from memory, as a keyring does).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkCompilers } from '../../../src/checks/kinds.js';
import { VerdictCache } from '../../../src/checks/signature/index.js';
import { evaluateImages, type Verdict } from '../../../src/evaluate/evaluate.js';
import { reusedVerdict } from '../../../src/evaluate/reuse-now.js';
import { OutcomeReuse } from '../../../src/evaluate/reused-outcomes.js';
import { compilePolicies } from '../../../src/policy/compile.js';
import { parsePolicyYaml } from '../../../src/policy/load.js';
import { createRegistry, type Registry } from '../../../src/registry/client.js';
import type { CredentialProvider } from '../../../src/registry/credentials/index.js';
import type { TrustedRootStore } from '../../../src/checks/signature/index.js';
import { htpasswdLine } from '../../helpers/auth-servers.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { buildImage, pushImage, type BuiltImage } from '../../helpers/image-builder.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';

const TAG_TTL_MS = 5_000;
const SMALL_ONLY = `
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: { name: small }
spec:
  mode: enforce
  onError: deny
  images: [{ glob: "**" }]
  size: { maxCompressed: 16Ki }
`;
const LOGIN = `Basic ${Buffer.from('team-a:pull-only').toString('base64')}`;
const TEAM_A = { kind: 'basic', username: 'team-a', password: 'pull-only' } as const;
/** Team A's pull secret as a provider that calls out (as pull-secrets.ts does) … */
const calling: CredentialProvider = { name: 'pull-secrets', credentialsFor: async () => TEAM_A };
/** … and as one that answers from memory (a keyring): the synchronous path may answer. */
const remembered: CredentialProvider = {
  name: 'registry-config',
  credentialsFor: async () => TEAM_A,
  credentialsNow: () => TEAM_A,
};

describe.each([
  { way: 'evaluateImages, the credential awaited', secret: calling, now: false },
  { way: 'reusedVerdict first (as /validate), the credential from memory', secret: remembered, now: true },
])('a tag-referenced image on the reused-outcome path: $way', ({ secret, now }) => {
  let reg: TestRegistry;
  let proxy: FaultProxy;
  let client: Registry;
  let small: BuiltImage;
  let big: BuiltImage;
  const clock = { now: Date.now() };
  const policies = compilePolicies(
    parsePolicyYaml(SMALL_ONLY, 'small.yaml'),
    checkCompilers({
      trustedRoots: { has: () => true, ready: () => undefined } as unknown as TrustedRootStore,
      cache: new VerdictCache(),
    }),
  );
  let settings = { reuse: new OutcomeReuse() };

  beforeAll(async () => {
    reg = await startRegistry({ htpasswd: htpasswdLine('team-a', 'pull-only') });
    proxy = await startFaultProxy(reg.url);
    small = buildImage({ steps: [{ createdBy: 'ADD small /', files: { small: 'small' } }] });
    big = buildImage({ steps: [{ createdBy: 'ADD big /', randomBytes: 64 * 1024 }] });
    await pushImage(reg.url, 'team/app', 'v1', small, { authorization: LOGIN });
    client = createRegistry({
      registries: { [proxy.host]: { insecure: true } },
      tagTtlMs: TAG_TTL_MS,
      now: () => clock.now,
    });
  });
  afterAll(async () => {
    await client?.close();
    await proxy?.stop();
    await reg?.stop();
  });
  beforeEach(() => {
    settings = { reuse: new OutcomeReuse() };
  });

  const image = (): string => `${proxy.host}/team/app:v1`;
  /** Reviews answered synchronously by reusedVerdict (`now` only). */
  let answeredNow = 0;
  /** A review by team A (with its pull secret) or by team B (anonymous). */
  const review = async (who: 'team-a' | 'anonymous' = 'team-a'): Promise<Verdict> => {
    const ctx = {
      namespace: who === 'team-a' ? 'team-a' : 'team-b',
      signal: AbortSignal.timeout(5_000),
      registry: client.access(who === 'team-a' ? { credentials: secret } : {}),
    };
    const sync = now ? reusedVerdict([image()], policies, settings, ctx) : undefined;
    if (sync !== undefined) answeredNow++;
    return sync ?? (await evaluateImages([image()], policies, settings, ctx));
  };
  /** How many of the reviews in `fn` were answered synchronously. */
  const countNow = async (fn: () => Promise<unknown>): Promise<number> => {
    const before = answeredNow;
    await fn();
    return answeredNow - before;
  };
  /** The registry requests `fn` caused, as "METHOD /path". */
  const requestsOf = async (fn: () => Promise<unknown>): Promise<string[]> => {
    const before = proxy.log.length;
    await fn();
    return proxy.log.slice(before).filter((r) => r.includes('/v2/team/'));
  };

  it('is reused within tagTtl, revalidated after it, and a moved tag is judged on its new digest', async () => {
    await pushImage(reg.url, 'team/app', 'v1', small, { authorization: LOGIN });
    const first = await review();
    expect(first.allowed).toBe(true);
    expect(first.images[0]).toMatchObject({ digest: small.manifest.digest });
    expect(first.images[0]?.reused).toBeUndefined();

    // within the tag window: answered from the reused outcome, nothing asked of the registry
    clock.now += TAG_TTL_MS - 1;
    let again!: Awaited<ReturnType<typeof review>>;
    expect(
      await countNow(async () => expect(await requestsOf(async () => (again = await review()))).toEqual([])),
    ).toBe(now ? 1 : 0);
    expect(again.images[0]).toMatchObject({ reused: true, digest: small.manifest.digest });
    expect(again.images[0]?.policies[0]?.findings[0]?.durationMs).toBe(0);

    // the tag moves to an image over the limit; past the window the tag is asked again first
    await pushImage(reg.url, 'team/app', 'v1', big, { authorization: LOGIN });
    clock.now += 2;
    let moved!: Awaited<ReturnType<typeof review>>;
    let asked: string[] = [];
    expect(await countNow(async () => (asked = await requestsOf(async () => (moved = await review()))))).toBe(
      0,
    );
    expect(asked[0]).toBe('HEAD /v2/team/app/manifests/v1');
    expect(moved.allowed).toBe(false);
    expect(moved.images[0]?.reused).toBeUndefined();
    expect(moved.images[0]).toMatchObject({ digest: big.manifest.digest });
    expect(moved.images[0]?.policies[0]?.findings[0]).toMatchObject({ code: 'SIZE_EXCEEDED' });

    // and stays denied: the small digest's outcome never answers for the moved tag
    clock.now += 1;
    let still!: Verdict;
    expect(await countNow(async () => (still = await review()))).toBe(0);
    expect(still.allowed).toBe(false);
    expect(still.images[0]).toMatchObject({ digest: big.manifest.digest });
  });

  it('after the window, a tag that did not move is asked once (HEAD) and then reused again', async () => {
    await pushImage(reg.url, 'team/app', 'v1', small, { authorization: LOGIN });
    clock.now += TAG_TTL_MS + 1; // whatever the tag window held before this test is over
    expect((await review()).allowed).toBe(true);
    clock.now += TAG_TTL_MS + 1;
    let revalidated!: Awaited<ReturnType<typeof review>>;
    const asked = await requestsOf(async () => (revalidated = await review()));
    expect(asked).toEqual(['HEAD /v2/team/app/manifests/v1']);
    expect(revalidated.allowed).toBe(true);
    let reused!: Awaited<ReturnType<typeof review>>;
    expect(await requestsOf(async () => (reused = await review()))).toEqual([]);
    expect(reused.images[0]).toMatchObject({ reused: true, digest: small.manifest.digest });
  });

  it('does not answer a namespace without the pull secret from the outcome read with it', async () => {
    await pushImage(reg.url, 'team/app', 'v1', small, { authorization: LOGIN });
    clock.now += TAG_TTL_MS + 1;
    expect((await review()).allowed).toBe(true);
    expect((await review()).images[0]?.reused).toBe(true);
    // team B, anonymous, inside the tag window: neither the tag answer nor the outcome is its own
    let b!: Verdict;
    expect(await countNow(async () => (b = await review('anonymous')))).toBe(0);
    expect(b.allowed).toBe(false);
    expect(b.images[0]?.reused).toBeUndefined();
    expect(JSON.stringify(b.images)).toContain('UNAUTHORIZED');
  });
});
