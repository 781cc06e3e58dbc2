/**
 * The audit page rendered by a real headless browser (Debian's chromium): the DOM after its script
 * ran (summary, rows, filters from the address) and a screenshot of it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
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

/** Screenshots stay here for people to look at (IMAGEGATE_SCREENSHOT_DIR, else a temp dir). */
const SHOTS = process.env.IMAGEGATE_SCREENSHOT_DIR ?? tmpdir();

const decodeEntities = (s: string): string =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

describe.skipIf(!HAVE_CHROMIUM)('the audit html page in chromium', () => {
  /** A copy of the page with a measuring script after its own, writing its answer into the DOM. */
  async function withProbe(js: string): Promise<string> {
    const html = await readFile(page, 'utf8');
    const copy = join(await mkdtemp(join(tmpdir(), 'imagegate-probe-')), 'probe.html');
    await writeFile(copy, html.replace('</body>', `<script>${js}</script></body>`));
    return copy;
  }

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
    // the one URL is the audited API server's, named as text in the header
    expect(html.replace(/\(https:\/\/127\.0\.0\.1:\d+\)/, '')).not.toMatch(/https?:\/\//);
  });

  it('shows the summary and every row once its script ran', async () => {
    const dom = await chromium(['--dump-dom', `file://${page}`]);
    expect(dom).toContain('data-ready="true"');
    expect(dom).toContain('11 of 11 rows shown');
    expect(dom).toMatch(/<div class="card fail"><b>6<\/b>would be denied<\/div>/);
    expect(dom).toMatch(
      /<tr data-ns="infra" data-workload="[^"]+" data-policies="signed small" data-fails="[^"]*" data-severity="[a-z]*" data-result="fail"/,
    );
    expect(dom).toContain('over the 256 KiB limit of policy small; heaviest: layer 2');
  });

  it('filters by namespace and result from the address', async () => {
    const dom = await chromium(['--dump-dom', `file://${page}#ns=shop&result=fail`]);
    expect(dom).toContain('2 of 11 rows shown');
    const visible = [
      ...dom.matchAll(/<tr data-ns="([^"]+)"[^>]*data-result="([^"]+)" data-row="[^"]*"(?! hidden)>/g),
    ].map((m) => `${m[1]}:${m[2]}`);
    expect(visible).toEqual(['shop:fail', 'shop:fail']);
  });

  it('names the cluster, its context and the time, and lists the exempted images', async () => {
    const html = await readFile(page, 'utf8');
    expect(html).toMatch(/cluster <b>stand-in<\/b> \(https:\/\/127\.0\.0\.1:\d+\) · generated <b>20\d\d-/);
    expect(html).toMatch(/<h2 id="exempted">Exempted images \(\d+\)<\/h2>/);
  });

  it('shows what enforcing one policy alone would deny, and exports the filtered rows', async () => {
    const probe = await withProbe(
      `var d=JSON.parse(window.imagegateExport.json());
       document.body.dataset.probe=JSON.stringify({impact:document.getElementById('impact').textContent,
         rows:d.length,fails:d.every(function(r){return r.failingPolicies.indexOf('small')>=0;}),
         csv:window.imagegateExport.csv().split('\\r\\n')[0]});`,
    );
    const dom = await chromium(['--dump-dom', `file://${probe}#enforce=small`]);
    const out = JSON.parse(decodeEntities(/data-probe="([^"]*)"/.exec(dom)![1]!)) as {
      impact: string;
      rows: number;
      fails: boolean;
      csv: string;
    };
    expect(out.impact).toMatch(
      /^Enforcing policy small alone would deny \d+ workload\(s\) \(\d+ container\(s\)\) in \d+ namespace\(s\)\.$/,
    );
    expect(out.rows).toBeGreaterThan(0);
    expect(out.fails).toBe(true);
    expect(out.csv).toBe(
      'namespace,workload,container,containerType,image,digest,result,severity,admission,failingPolicies,policies,reasons',
    );
  });

  it.each([1400, 900])(
    'at %i px with every "why" expanded: the image column stays readable and nothing runs off the right edge',
    async (width) => {
      const probe = await withProbe(
        `var img=document.querySelector('td.image'),doc=document.documentElement;
         document.body.dataset.probe=JSON.stringify({image:img.getBoundingClientRect().width,
           overflow:doc.scrollWidth-doc.clientWidth,open:document.querySelectorAll('details[open]').length});`,
      );
      const dom = await chromium([`--window-size=${width},1000`, '--dump-dom', `file://${probe}#why=open`]);
      const out = JSON.parse(decodeEntities(/data-probe="([^"]*)"/.exec(dom)![1]!)) as {
        image: number;
        overflow: number;
        open: number;
      };
      expect(out.open).toBeGreaterThan(0);
      expect(out.overflow).toBeLessThanOrEqual(0);
      // monospace 12.5px ≈ 7.5px a character: at least ~25 characters a line, not 5
      expect(out.image).toBeGreaterThan(190);
      const png = join(SHOTS, `audit-${width}.png`);
      await chromium([
        `--screenshot=${png}`,
        `--window-size=${width},1400`,
        '--hide-scrollbars',
        `file://${page}#why=open`,
      ]);
      const bytes = await readFile(png);
      expect(bytes.readUInt32BE(16)).toBe(width);
    },
  );

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
