/**
 * `imagegate serve` as a process: the quick-start path. Dev certificate and its CA file, readiness,
 * a review answered over TLS, the audit record on stdout, and a graceful SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { freePort } from '../helpers/registry.js';

describe('imagegate serve (a real process, built-in policy, dev certificate)', () => {
  let child: ChildProcess;
  let dataDir: string;
  let port: number;
  let stdout = '';
  let agent: Agent;
  let exit: Promise<number | null>;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'imagegate-serve-'));
    port = await freePort();
    child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'serve', '--listen', `127.0.0.1:${port}`],
      { cwd: ROOT, env: { ...process.env, IMAGEGATE_DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    exit = new Promise((r) => child.once('exit', r));
    const deadline = Date.now() + 60_000;
    while (!stdout.includes('imagegate is serving')) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`serve did not start:\n${stdout}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    agent = new Agent({ connect: { ca: await readFile(join(dataDir, 'imagegate-dev-ca.crt'), 'utf8') } });
  }, 90_000);

  afterAll(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await agent?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('logs where the development CA is, and serves TLS that the CA verifies', async () => {
    expect(stdout).toContain(join(dataDir, 'imagegate-dev-ca.crt'));
    const res = await request(`https://localhost:${port}/readyz`, { dispatcher: agent });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({
      status: 'ready',
      unmatched: 'deny where an enforcing policy applies (default; --unmatched allow|audit|deny overrides)',
    });
  });

  it('answers a review in audit mode with a warning and writes its audit record', async () => {
    const body = await readFile(join(ROOT, 'examples/reviews/pod-create.json'), 'utf8');
    const res = await request(`https://localhost:${port}/validate?timeout=10s`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(res.statusCode).toBe(200);
    const review = (await res.body.json()) as {
      response: { uid: string; allowed: boolean; warnings: string[] };
    };
    expect(review.response.uid).toBe('705ab4f5-6393-11e8-b7cc-42010a800002');
    expect(review.response.allowed).toBe(true);
    expect(review.response.warnings[0]).toMatch(
      /^imagegate: \[audit\] registry\.example\.com\/team\/app:1\.4\.2 would be denied by imagegate-default/,
    );
  });

  it('finishes and flushes on SIGTERM, exiting 0 with the audit record written', async () => {
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    const records = stdout
      .split('\n')
      .filter((l) => l.includes('"logger":"audit"'))
      .map((l) => JSON.parse(l) as { uid: string; decision: string; wouldDeny: boolean });
    expect(records).toEqual([
      expect.objectContaining({
        uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
        decision: 'allowed',
        wouldDeny: true,
      }),
    ]);
  });
});
