/**
 * `npm run bench`: imagegate against baselines measured in the same run, on loopback, with the real
 * registry (docker-registry) and the real HTTPS server. Prints a ratio table and writes
 * bench/results/latest.json. See docs/benchmarks.md. BENCH_SCALE=0.5 halves durations and trials.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDevCertificate } from '../src/server/dev-cert.js';
import { startFaultProxy, type FaultProxy } from '../test/helpers/fault-proxy.js';
import { startRegistry } from '../test/helpers/registry.js';
import { RegistrySeeder } from '../test/helpers/registry-seeder.js';
import { keyPolicyYaml, signingKey } from '../test/helpers/signed-images.js';
import { admissionCostSection } from './admission-cost.js';
import { cachedSection } from './cached-section.js';
import { cachedTagSection } from './cached-tag-section.js';
import { startChild, type ChildConfig, type Server } from './child.js';
import { coldSection } from './cold-section.js';
import type { Row } from './common.js';
import type { BenchContext } from './context.js';
import { realRegistrySection } from './real-section.js';
import { auditSection, cachedCpuSection, coldCpuSection, memorySection } from './script-sections.js';
import { ONLY, review, SCALE, SECONDS, TRIALS } from './settings.js';

const here = dirname(fileURLToPath(import.meta.url));

async function main(): Promise<void> {
  const startedAt = Date.now();
  // The servers run the compiled code, as in production (tsx adds a loader and source-mapped stacks).
  process.stderr.write('building dist/\n');
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  const work = await mkdtemp(join(tmpdir(), 'imagegate-bench-'));
  const registry = await startRegistry();
  const seeder = new RegistrySeeder(registry);
  const key = signingKey();
  const policy = join(work, 'policy.yaml');
  await writeFile(policy, keyPolicyYaml(key));
  const cert = await createDevCertificate(work);
  const proxies: FaultProxy[] = [];
  const servers: Server[] = [];
  const proxy = async (delayMs: number): Promise<FaultProxy> => {
    const p = await startFaultProxy(registry.url);
    if (delayMs > 0) p.inject(/./, { kind: 'delay', ms: delayMs });
    proxies.push(p);
    return p;
  };
  const child = async (
    config: Omit<ChildConfig, 'cert' | 'key'>,
    profile?: string,
    env?: Record<string, string>,
  ): Promise<Server> => {
    const s = await startChild({ ...config, cert: cert.cert, key: cert.key }, profile, env);
    servers.push(s);
    return s;
  };
  const results: Record<string, unknown> = {};
  const rows: {
    figure: string;
    value: string;
    baseline: string;
    ratio: string;
    target: string;
    met: string;
    /** For a missed goal: what bounds it, computed from this run's own figures. */
    why: string;
  }[] = [];
  const row: Row = (figure, value, baseline, ratio, target, met, why = '') => {
    const note = met ? '' : why;
    rows.push({
      figure,
      value,
      baseline,
      ratio: ratio.toFixed(2),
      target,
      met: met ? 'yes' : 'NO',
      why: note,
    });
    process.stderr.write(
      `  ${figure}: ${value} vs ${baseline} → ${ratio.toFixed(2)} (${target}) ${met ? 'met' : `MISSED ${note}`}\n`,
    );
  };

  // BENCH_PROFILE=1: each imagegate server writes a --cpu-prof profile here when it stops.
  const profileDir = join(here, 'results', 'profiles');
  await rm(profileDir, { recursive: true, force: true });
  const ctx: BenchContext = {
    here,
    seeder,
    key,
    policy,
    ca: cert.ca,
    registryPid: registry.pid,
    profileDir,
    proxy,
    child,
    row,
    results,
  };
  try {
    // ---------------------------------------------------------------- 1. cached decisions
    if (ONLY.has('cached')) await cachedSection(ctx);
    if (ONLY.has('cachedtag')) await cachedTagSection(ctx);
    if (ONLY.has('cachedcpu')) cachedCpuSection(ctx);
    if (ONLY.has('audit')) auditSection(ctx);
    if (ONLY.has('cold')) await coldSection(ctx);
    if (ONLY.has('coldcpu')) coldCpuSection(ctx);
    if (ONLY.has('real'))
      results.real = await realRegistrySection({
        registry,
        seeder,
        key,
        policy,
        work,
        child,
        row,
        review,
        ca: cert.ca,
        trials: TRIALS,
      });
    if (ONLY.has('memory')) memorySection(ctx);
    if (ONLY.has('admission')) await admissionCostSection(ctx, join(here, '..'));
  } finally {
    for (const s of servers) await s.stop().catch(() => undefined);
    for (const p of proxies) await p.stop();
    await registry.stop();
    await rm(work, { recursive: true, force: true });
  }

  const machine = {
    nproc: cpus().length,
    cpu: /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown',
    node: process.version,
    scale: SCALE,
    secondsPerLoadRun: SECONDS,
    coldTrials: TRIALS,
    durationSeconds: Math.round((Date.now() - startedAt) / 1000),
    date: new Date().toISOString(),
  };
  await mkdir(join(here, 'results'), { recursive: true });
  await writeFile(
    join(here, 'results', 'latest.json'),
    `${JSON.stringify({ machine, rows, results }, null, 2)}\n`,
  );
  const widths = (['figure', 'value', 'baseline', 'ratio', 'target', 'met', 'why'] as const).map((k) =>
    Math.max(k.length, ...rows.map((r) => r[k].length)),
  );
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  console.log(
    `\nimagegate bench — ${machine.nproc} × ${machine.cpu}, Node ${machine.node}, scale ${SCALE}, ${machine.durationSeconds} s\n`,
  );
  console.log(line(['figure', 'value', 'baseline', 'ratio', 'target', 'met', 'why']));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line([r.figure, r.value, r.baseline, r.ratio, r.target, r.met, r.why]));
  console.log(`\nwritten to bench/results/latest.json`);
}

await main();
