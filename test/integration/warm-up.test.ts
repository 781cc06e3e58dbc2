/**
 * `serve --warm-up` (src/cli/warm-up.ts): before /readyz says ready, synthetic key-signed images on
 * an in-process loopback registry are reviewed by a throwaway engine through runReview, so a new
 * replica's first pods do not pay for code running for the first time. It must run the whole cold
 * path (every synthetic image's requests), never throw, and leave nothing in the audit log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { warmUp } from '../../src/cli/warm-up.js';
import { ROOT } from '../helpers/cli.js';
import { freePort } from '../helpers/registry.js';

describe('warmUp', () => {
  it('reviews and allows every synthetic pod, making each cold image’s registry requests', async () => {
    const r = await warmUp({ pods: 2, imagesPerPod: 3 });
    expect(r).toMatchObject({ ok: true, pods: 2 });
    // per image: manifest, `.sig` tag, its payload blob, the referrers fallback tag; + the first
    // image's referrers API probe (the synthetic registry has none, remembered per host)
    expect(r.requests).toBe(2 * 3 * 4 + 1);
  });

  it('resolves with the problem, never throws, when it cannot finish in time', async () => {
    const r = await warmUp({ timeoutMs: 1 });
    expect(r.ok).toBe(false);
    expect(r.problem).toBe('not done within 1 ms');
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
    while (!out.includes('imagegate is serving')) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`serve did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    agent = new Agent({ connect: { ca: await readFile(join(dataDir, 'imagegate-dev-ca.crt'), 'utf8') } });
    const get = async (path: string): Promise<{ status: number; body: string }> => {
      const res = await request(`https://localhost:${port}${path}`, { dispatcher: agent });
      return { status: res.statusCode, body: await res.body.text() };
    };
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
      .map((l) => JSON.parse(l) as { msg?: string; warmUp?: { ok: boolean; pods: number; requests: number } })
      .find((l) => l.msg === 'warm-up done');
    expect(done?.warmUp).toMatchObject({ ok: true, pods: 3, requests: 3 * 4 * 4 + 1 });
    expect((await get('/readyz')).status).toBe(200);
    // audit records go to stdout by default: none of the warm-up's pods is among them
    expect(out).not.toContain('imagegate-warm-up');
  }, 90_000);
});
