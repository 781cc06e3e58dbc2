/**
 * The audit page rendered by a real headless browser (Debian's chromium): the DOM after its script
 * ran (summary, rows, filters from the address) and a screenshot of it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/cli/args.js';
import { runAudit } from '../../src/cli/audit.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster-fixture.js';

const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const run = promisify(execFile);
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) {
  // CI installs chromium (scripts/setup-test-deps.sh): there a missing browser is a failure, not a skip.
  if (process.env.CI === 'true') throw new Error(`chromium not found at ${CHROMIUM}; required under CI=true`);
  console.warn(
    `[imagegate tests] chromium not found at ${CHROMIUM}: the audit page's browser test is skipped`,
  );
}

async function chromium(args: string[]): Promise<string> {
  const profile = await mkdtemp(join(tmpdir(), 'imagegate-chromium-'));
  const { stdout } = await run(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
      ...args,
    ],
    { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}

describe.skipIf(!HAVE_CHROMIUM)('the audit html page in chromium', () => {
  let cluster: TestCluster;
  let page: string;
  beforeAll(async () => {
    cluster = await startTestCluster();
    page = join(await mkdtemp(join(tmpdir(), 'imagegate-html-')), 'audit.html');
    const cmd = parseCommand([
      'audit',
      ...cluster.flags,
      '--kubeconfig',
      cluster.api.kubeconfigPath,
      '--output',
      'html',
      '--out',
      page,
    ]);
    if (cmd.command !== 'audit') throw new Error('not audit');
    const code = await runAudit(cmd, pino({ level: 'silent' }), {
      stdout: { write: () => true },
      stderr: { write: () => true },
    });
    expect(code).toBe(1);
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('is one self-contained file: no external scripts, styles or images', async () => {
    const html = await readFile(page, 'utf8');
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
    expect(html).not.toMatch(/https?:\/\//);
  });

  it('shows the summary and every row once its script ran', async () => {
    const dom = await chromium(['--dump-dom', `file://${page}`]);
    expect(dom).toContain('data-ready="true"');
    expect(dom).toContain('11 of 11 rows shown');
    expect(dom).toMatch(/<div class="card fail"><b>6<\/b>would be denied<\/div>/);
    expect(dom).toMatch(/<tr data-ns="infra" data-policies="signed small" data-result="fail">/);
    expect(dom).toContain('over the 256 KiB limit of policy small; heaviest: layer 2');
  });

  it('filters by namespace and result from the address', async () => {
    const dom = await chromium(['--dump-dom', `file://${page}#ns=shop&result=fail`]);
    expect(dom).toContain('2 of 11 rows shown');
    const visible = [...dom.matchAll(/<tr data-ns="([^"]+)"[^>]*data-result="([^"]+)"(?! hidden)>/g)].map(
      (m) => `${m[1]}:${m[2]}`,
    );
    expect(visible).toEqual(['shop:fail', 'shop:fail']);
  });

  it('renders a non-trivial screenshot', async () => {
    const png = join(tmpdir(), `imagegate-audit-${process.pid}.png`);
    await chromium(['--screenshot=' + png, '--window-size=1280,900', '--hide-scrollbars', `file://${page}`]);
    const bytes = await readFile(png);
    expect(bytes.subarray(1, 4).toString()).toBe('PNG');
    expect(bytes.readUInt32BE(16)).toBe(1280); // IHDR width
    // A blank 1280x900 page compresses to a few KB; a rendered table and summary do not.
    expect((await stat(png)).size).toBeGreaterThan(30_000);
  });
});
