/**
 * `serve --warm-up` (src/cli/warm-up.ts): before /readyz says ready, synthetic key-signed images on
 * an in-process loopback registry are reviewed by a throwaway engine through runReview, so a new
 * replica's first pods do not pay for code running for the first time. It must run the whole cold
 * path (every synthetic image's requests), never throw, and leave nothing in the audit log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { namesKeyless, warmUp } from '../../src/cli/warm-up.js';
import { keylessSigner } from '../../src/cli/warm-up-keyless.js';
import type { ImagePolicyDocument } from '../../src/policy/policy.schema.js';
import { ROOT } from '../helpers/cli.js';
import { freePort } from '../helpers/registry.js';
import { spawnServe } from '../helpers/serve-process.js';

describe('warmUp', () => {
  it('reviews and allows every synthetic pod, making each cold image’s registry requests', async () => {
    const r = await warmUp({ pods: 2, imagesPerPod: 3 });
    expect(r).toMatchObject({ ok: true, pods: 2 });
    // per image: manifest, `.sig` tag, its payload blob, the referrers fallback tag; + the first
    // image's referrers API probe (the synthetic registry has none, remembered per host)
    expect(r.requests).toBe(2 * 3 * 4 + 1);
  });

  it('with keyless: as many pods again, keyless-signed, each allowed by the keyless authority only', async () => {
    const r = await warmUp({ pods: 2, imagesPerPod: 2, keyless: true });
    expect(r).toMatchObject({ ok: true, pods: 4, keylessPods: 2 });
    expect(r.requests).toBe(4 * 2 * 4 + 1);
    expect(await warmUp({ pods: 1, imagesPerPod: 1 })).toMatchObject({ ok: true, pods: 1, keylessPods: 0 });
    // verifyRounds 0: the pods only, no in-process verification
    expect(await warmUp({ pods: 1, imagesPerPod: 1, verifyRounds: 0 })).toMatchObject({
      ok: true,
      verified: {},
      verifyMs: 0,
    });
  });

  it('resolves with the problem, never throws, when it cannot finish in time', async () => {
    const r = await warmUp({ timeoutMs: 1 });
    expect(r.ok).toBe(false);
    expect(r.problem).toBe('not done within 1 ms');
  });
});

describe('namesKeyless (serve warms the keyless path only when a policy needs it)', () => {
  const doc = (spec: object) => ({ metadata: { name: 'p' }, spec }) as unknown as ImagePolicyDocument;
  const keyless = { authorities: [{ keyless: { issuer: 'i', subject: 's' } }] };
  const key = { authorities: [{ key: { pem: 'x' } }] };
  it('finds a keyless authority in a signature, a base or an attestation, and nowhere else', () => {
    expect(namesKeyless([doc({ signature: key })])).toBe(false);
    expect(namesKeyless([doc({ size: {} })])).toBe(false);
    expect(namesKeyless([doc({ signature: key }), doc({ signature: keyless })])).toBe(true);
    expect(namesKeyless([doc({ base: { allowed: [{ image: '**', signature: keyless }] } })])).toBe(true);
    expect(namesKeyless([doc({ attestations: [{ predicateType: 'x', ...keyless }] })])).toBe(true);
  });
});

describe('imagegate serve --warm-up (a real process)', () => {
  let child: ChildProcess | undefined;
  let dataDir: string | undefined;
  let agent: Agent | undefined;

  afterAll(async () => {
    if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
    await agent?.close();
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  });

  it('is not ready while warming up (/healthz answers), ready after, with no warm-up audit record', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'imagegate-serve-warm-'));
    const port = await freePort();
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'src/cli/main.ts'),
        'serve',
        '--warm-up',
        '--listen',
        `127.0.0.1:${port}`,
      ],
      { cwd: ROOT, env: { ...process.env, IMAGEGATE_DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const finished = (): boolean => out.includes('warm-up done') || out.includes('warm-up incomplete');
    const deadline = Date.now() + 60_000;
    // the development CA is written before serve listens: from then on, ask until it answers (the
    // warm-up starts as it listens, and may take only ~0.2 s on a quiet machine)
    while (!out.includes('development certificate')) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`serve did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    agent = new Agent({ connect: { ca: await readFile(join(dataDir, 'imagegate-dev-ca.crt'), 'utf8') } });
    const get = async (path: string): Promise<{ status: number; body: string }> => {
      const res = await request(`https://localhost:${port}${path}`, { dispatcher: agent });
      return { status: res.statusCode, body: await res.body.text() };
    };
    for (;;) {
      const up = await get('/healthz').then(
        () => true,
        (err: unknown) => {
          if ((err as { code?: string }).code !== 'ECONNREFUSED') throw err;
          return false;
        },
      );
      if (up) break;
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`serve did not listen:\n${out}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    // while the warm-up runs (its end is logged), /readyz must say not ready and /healthz alive
    const whileWarming: { ready: { status: number; body: string }; health: number }[] = [];
    while (!finished()) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no warm-up:\n${out}`);
      const [ready, health] = await Promise.all([get('/readyz'), get('/healthz')]);
      if (!finished()) whileWarming.push({ ready, health: health.status });
    }
    expect(whileWarming.length).toBeGreaterThan(0);
    for (const w of whileWarming) {
      expect(w.health).toBe(200);
      expect(w.ready.status).toBe(503);
      expect(JSON.parse(w.ready.body)).toMatchObject({
        status: 'not ready',
        reason: expect.stringMatching(/^warming up/),
      });
    }
    const done = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map(
        (l) =>
          JSON.parse(l) as {
            msg?: string;
            warmUp?: { ok: boolean; pods: number; requests: number; verified: Record<string, number> };
          },
      )
      .find((l) => l.msg === 'warm-up done');
    expect(done?.warmUp).toMatchObject({ ok: true, pods: 3, requests: 3 * 4 * 4 + 1 });
    // then the key forms verified in-process (as many rounds as the 10 s bound left)
    expect(Object.keys(done?.warmUp?.verified ?? {}).sort()).toEqual(['key-bundle', 'key-sig']);
    expect((await get('/readyz')).status).toBe(200);
    // audit records go to stdout by default: none of the warm-up's pods is among them
    expect(out).not.toContain('imagegate-warm-up');
  }, 90_000);
});

describe('imagegate serve --warm-up with a keyless policy loaded (a real process)', () => {
  let child: ChildProcess | undefined;
  let dir: string | undefined;

  afterAll(async () => {
    if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('also reviews keyless-signed pods before ready: the log says how many', async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagegate-serve-warm-keyless-'));
    // the serving policy's own trust root: any will do, the warm-up brings its own
    const root = join(dir, 'root.json');
    await writeFile(root, JSON.stringify((await keylessSigner()).trustedRoot));
    const policy = join(dir, 'policy.yaml');
    await writeFile(
      policy,
      [
        'apiVersion: imagegate.dev/v1alpha1',
        'kind: ImagePolicy',
        'metadata: { name: keyless }',
        'spec:',
        '  images: [{ glob: "registry.example/**" }]',
        '  signature:',
        '    authorities: [{ keyless: { issuer: "https://issuer.example", subject: "ci@example.com", trustedRoot: ours } }]',
        '',
      ].join('\n'),
    );
    const port = await freePort();
    child = spawnServe({
      port,
      dataDir: dir,
      policyFile: policy,
      args: ['--warm-up', '--trusted-root', `ours=${root}`],
    });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 60_000;
    while (!out.includes('warm-up done') && !out.includes('warm-up incomplete')) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no warm-up:\n${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const done = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string; warmUp?: Record<string, unknown> })
      .find((l) => l.msg === 'warm-up done');
    expect(done?.warmUp, out).toMatchObject({ ok: true, pods: 6, keylessPods: 3, requests: 6 * 4 * 4 + 1 });
    // then every form verified in-process, each as often (rounds until HOT_ROUNDS or the bound)
    const verified = done?.warmUp?.verified as Record<string, number>;
    expect(Object.keys(verified).sort()).toEqual(['key-bundle', 'key-sig', 'keyless-bundle', 'keyless-sig']);
    expect(new Set(Object.values(verified)).size).toBe(1);
    expect(verified['keyless-sig']).toBeGreaterThan(0);
  }, 90_000);
});
