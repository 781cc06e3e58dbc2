/** `imagegate check IMAGE...`: evaluate images as if a pod in a namespace used them (CI pipelines). */
import type { Logger } from 'pino';
import { evaluateImages, type Verdict } from '../evaluate.js';
import {
  createLayoutAccess,
  isLayoutReference,
  LAYOUT_REGISTRY,
  parseLayoutReference,
  parseReference,
  type RegistryAccess,
} from '../registry/index.js';
import type { Command } from './args.js';
import { setupEngine } from './setup.js';

/** Time budget for a CLI check: generous, but never hang a pipeline. */
const CHECK_TIMEOUT_MS = 120_000;

/** Routes `oci:PATH` references (registry "oci-layout") to the local layout, the rest to the registry. */
function withLayouts(remote: RegistryAccess): RegistryAccess {
  const layouts = new Map<string, RegistryAccess>();
  const pick = (registry: string, path: string): RegistryAccess => {
    if (registry !== LAYOUT_REGISTRY) return remote;
    let access = layouts.get(path);
    if (access === undefined) {
      access = createLayoutAccess(path);
      layouts.set(path, access);
    }
    return access;
  };
  return {
    resolve: (ref, signal) => pick(ref.registry, ref.repository).resolve(ref, signal),
    getManifest: (repo, tagOrDigest, signal) =>
      pick(repo.registry, repo.repository).getManifest(repo, tagOrDigest, signal),
    getBlob: (repo, d, max, signal) => pick(repo.registry, repo.repository).getBlob(repo, d, max, signal),
    getReferrers: (repo, digest, type, signal) =>
      pick(repo.registry, repo.repository).getReferrers(repo, digest, type, signal),
  };
}

export function formatVerdictText(verdict: Verdict): string {
  const lines: string[] = [];
  for (const o of verdict.images) {
    const name = o.reference ?? o.image;
    const at = o.digest !== undefined && !name.includes('@') ? `@${o.digest}` : '';
    if (o.invalid !== undefined) {
      lines.push(`✗ ${o.image}: ${o.invalid.message}`);
      continue;
    }
    if (o.unmatched !== undefined) {
      lines.push(
        `${o.unmatched === 'deny' ? '✗' : '•'} ${name}${at}: no policy governs this image (unmatched: ${o.unmatched})`,
      );
      continue;
    }
    const failing = o.policies.some((p) => p.result === 'fail');
    lines.push(`${failing ? '✗' : '✓'} ${name}${at}`);
    for (const p of o.policies) {
      lines.push(`  policy ${p.policy} (${p.mode}): ${p.result}`);
      for (const f of p.findings) {
        lines.push(
          `    ${f.passed ? 'ok  ' : f.indeterminate === true ? 'err ' : 'FAIL'} ${f.check}: ${f.message}${f.passed ? '' : ` [${f.code}]`}`,
        );
      }
      if (p.findings.length === 0) lines.push('    (no checks configured)');
    }
  }
  for (const r of verdict.audits)
    lines.push(
      `warning: [audit] ${r.image} would be denied${r.policy !== undefined ? ` by ${r.policy}` : ''}: ${r.message}`,
    );
  for (const r of verdict.errorsAllowed)
    lines.push(
      `warning: ${r.image} not fully checked by ${r.policy ?? 'policy'} (allowed by onError): ${r.message}`,
    );
  lines.push(
    verdict.allowed
      ? 'result: allowed'
      : `result: denied (${verdict.denials.length} reason${verdict.denials.length === 1 ? '' : 's'})`,
  );
  return lines.join('\n');
}

export async function runCheck(cmd: Extract<Command, { command: 'check' }>, logger: Logger): Promise<number> {
  const { engine, registry: client } = await setupEngine(cmd.common, logger);
  const remote = await engine.registry?.({
    namespace: cmd.namespace,
    deadline: Date.now() + CHECK_TIMEOUT_MS,
  });
  const verdict = await evaluateImages(cmd.images, engine.policies(), engine.settings, {
    namespace: cmd.namespace,
    signal: AbortSignal.timeout(CHECK_TIMEOUT_MS),
    parse: (image) =>
      isLayoutReference(image) ? parseLayoutReference(image).reference : parseReference(image),
    ...(remote !== undefined ? { registry: withLayouts(remote) } : {}),
  });
  await client.close();
  process.stdout.write(
    cmd.output === 'json'
      ? `${JSON.stringify({ allowed: verdict.allowed, wouldDeny: verdict.wouldDeny, denials: verdict.denials, warnings: [...verdict.audits, ...verdict.errorsAllowed], images: verdict.images }, null, 2)}\n`
      : `${formatVerdictText(verdict)}\n`,
  );
  return verdict.allowed ? 0 : 1;
}
