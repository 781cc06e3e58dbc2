/** `imagegate check IMAGE...`: evaluate images as if a pod in a namespace used them (CI pipelines). */
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError, errorMessage } from '../errors.js';
import { evaluateImages, type Verdict } from '../evaluate/evaluate.js';
import { forManyListeners } from '../review/deadline.js';
import {
  isLayoutReference,
  openImage,
  parseLayoutReference,
  parseReference,
  repositoryName,
  type ImageReference,
  type Registry,
  type RegistryAccess,
} from '../registry/index.js';
import type { Command } from './args.js';
import type { CliIo } from './io.js';
import { setupEngine } from './setup.js';
import {
  createKubeAccess,
  loadKubeConfig,
  probeKeySecrets,
  secretRefsOf,
  type KubeAccess,
} from '../kube/index.js';

/** `--kubeconfig`/`--context`, else $KUBECONFIG or ~/.kube/config when present: for key.secretRef. */
function checkKubeAccess(
  cmd: Extract<Command, { command: 'check' }>,
  logger: Logger,
  io: CliIo,
): KubeAccess | undefined {
  const kubeConfig = loadKubeConfig({
    ...(cmd.kubeconfig !== undefined ? { file: cmd.kubeconfig } : {}),
    ...(cmd.context !== undefined ? { context: cmd.context } : {}),
    optionalDefaultFile: true,
    env: io.env,
  });
  return kubeConfig !== undefined ? createKubeAccess(kubeConfig, logger) : undefined;
}

/** A policy whose key lives in a Secret that check cannot read is a configuration error (exit 2). */
async function assertKeySecretsReadable(
  docs: readonly unknown[],
  kube: KubeAccess | undefined,
  client: { close(): Promise<void> },
): Promise<void> {
  const needing = docs.filter((d) => secretRefsOf(d).length > 0);
  if (needing.length === 0) return;
  let problems: string[];
  if (kube === undefined) {
    problems = needing.map(
      (d) =>
        `policy ${(d as { metadata: { name: string } }).metadata.name}: key.secretRef needs Kubernetes access: give --kubeconfig FILE (or set $KUBECONFIG)`,
    );
  } else {
    problems = (await probeKeySecrets(kube.keySecrets, docs)).map((p) => `policy ${p.policy}: ${p.message}`);
  }
  if (problems.length === 0) return;
  await client.close();
  throw new ConfigError('CONFIG_INVALID', problems.join('\n'));
}

/** Time budget for a CLI check: generous, but never hang a pipeline. */
const CHECK_TIMEOUT_MS = 120_000;

/**
 * `oci:PATH` images: read from the local layout. Policies match them by `--as REF`'s name (the name the
 * image will be pushed under), else by `oci-layout/PATH`. Everything else goes to the registry.
 */
function layoutRouting(client: Registry, remote: RegistryAccess, as: string | undefined) {
  const layouts = new Map<string, RegistryAccess>();
  const asName = as !== undefined ? parseReference(as) : undefined;
  const parse = (image: string): ImageReference => {
    if (!isLayoutReference(image)) return parseReference(image);
    const { reference, access } = openImage(image, client);
    const ref: ImageReference =
      asName === undefined
        ? reference
        : { ...reference, registry: asName.registry, repository: asName.repository };
    layouts.set(repositoryName(ref), access);
    return ref;
  };
  const pick = (ref: Pick<ImageReference, 'registry' | 'repository'>): RegistryAccess =>
    layouts.get(repositoryName(ref)) ?? remote;
  const registry: RegistryAccess = {
    ...(remote.limits !== undefined ? { limits: remote.limits } : {}),
    resolve: (ref, signal) => pick(ref).resolve(ref, signal),
    getManifest: (repo, tagOrDigest, signal) => pick(repo).getManifest(repo, tagOrDigest, signal),
    getBlob: (repo, d, max, signal) => pick(repo).getBlob(repo, d, max, signal),
    getReferrers: (repo, digest, type, signal) => pick(repo).getReferrers(repo, digest, type, signal),
  };
  return { parse, registry };
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
      const why = o.unmatchedMessage ?? 'no policy governs this image';
      const suffix = why.includes('(unmatched:') ? '' : ` (unmatched: ${o.unmatched})`;
      lines.push(`${o.unmatched === 'deny' ? '✗' : '•'} ${name}${at}: ${why}${suffix}`);
      continue;
    }
    const failing = o.policies.some((p) => p.result === 'fail');
    lines.push(`${failing ? '✗' : '✓'} ${name}${at}`);
    for (const p of o.policies) {
      lines.push(`  policy ${p.policy} (${p.mode}): ${p.result}`);
      for (const f of p.findings) {
        const mark = f.passed
          ? 'ok  '
          : f.exemptedBy !== undefined
            ? 'EXEMPT'
            : f.indeterminate === true
              ? 'err '
              : 'FAIL';
        lines.push(`    ${mark} ${f.check}: ${f.message}${f.passed ? '' : ` [${f.code}]`}`);
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
  for (const r of verdict.exempted)
    lines.push(
      `warning: ${r.image} fails ${r.policy}, allowed by exception ${r.exception} until ${r.expires} ("${r.reason}"): ${r.message}`,
    );
  lines.push(
    verdict.allowed
      ? 'result: allowed'
      : `result: denied (${verdict.denials.length} reason${verdict.denials.length === 1 ? '' : 's'})`,
  );
  return lines.join('\n');
}

/**
 * `oci:PATH` names a directory the user gave: a missing or unreadable layout is a usage error (exit 2),
 * not an image that fails or passes a policy.
 */
async function assertLayoutsExist(images: readonly string[]): Promise<void> {
  for (const image of images.filter(isLayoutReference)) {
    const { path } = parseLayoutReference(image);
    try {
      await access(join(path, 'index.json'), constants.R_OK);
    } catch (err) {
      throw new ConfigError(
        'USAGE',
        `${image}: no readable OCI image layout at ${path} (${join(path, 'index.json')}: ${errorMessage(err)})`,
      );
    }
  }
}

export async function runCheck(
  cmd: Extract<Command, { command: 'check' }>,
  logger: Logger,
  io: CliIo,
): Promise<number> {
  await assertLayoutsExist(cmd.images);
  const kube = checkKubeAccess(cmd, logger, io);
  const {
    engine,
    store,
    registry: client,
  } = await setupEngine(cmd.common, logger, {
    ...(kube !== undefined ? { kube } : {}),
    env: io.env,
    kms: { env: io.env },
  });
  await assertKeySecretsReadable(store.documents(), kube, client);
  const remote = await engine.registry?.({
    namespace: cmd.namespace,
    deadline: Date.now() + CHECK_TIMEOUT_MS,
  });
  const routing = remote !== undefined ? layoutRouting(client, remote, cmd.as) : undefined;
  const verdict = await evaluateImages(cmd.images, engine.policies(), engine.settings, {
    namespace: cmd.namespace,
    signal: forManyListeners(AbortSignal.timeout(CHECK_TIMEOUT_MS)),
    ...(routing !== undefined ? { parse: routing.parse, registry: routing.registry } : {}),
    // A pod of no particular workload: exceptions with spec.workloads do not apply.
    exceptions: { exceptions: engine.exceptions?.() ?? [], workload: [], now: (engine.now ?? Date.now)() },
  });
  await client.close();
  io.stdout.write(
    cmd.output === 'json'
      ? `${JSON.stringify({ allowed: verdict.allowed, wouldDeny: verdict.wouldDeny, denials: verdict.denials, warnings: [...verdict.audits, ...verdict.errorsAllowed], ...(verdict.exempted.length > 0 ? { exempted: verdict.exempted } : {}), images: verdict.images }, null, 2)}\n`
      : `${formatVerdictText(verdict)}\n`,
  );
  return verdict.allowed ? 0 : 1;
}
