/**
 * `imagegate audit`: what already runs, evaluated with the webhook's engine. Lists through the
 * Kubernetes API (kubeconfig, $KUBECONFIG or in-cluster), prints text, json or html. Exit 0 when
 * nothing would be denied, 1 when something would, 2 on usage, configuration or API errors.
 */
import { writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { collectInventory, scanInventory } from '../cluster/scan.js';
import type { AuditReport } from '../cluster/result.js';
import { filterByException } from '../cluster/filter.js';
import { KubeApiError, errorMessage } from '../errors.js';
import { createKubeAccess, loadKubeConfig } from '../kube/index.js';
import { createClusterLister } from '../kube/list.js';
import { statusCode } from '../kube/status-code.js';
import { AUDIT_OUTPUTS } from '../report/formats.js';
import type { Command } from './args.js';
import { setupEngine } from './setup.js';

type AuditCommand = Extract<Command, { command: 'audit' }>;

export interface AuditIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  /** Where $KUBECONFIG and HOME are read (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
}

/** A progress line on stderr: rewritten in place on a terminal, at most once a second otherwise. */
function progress(stderr: AuditIo['stderr']): (done: number, total: number) => void {
  let last = 0;
  return (done, total) => {
    const line = `imagegate audit: images ${done}/${total}`;
    if (stderr.isTTY === true) {
      stderr.write(`\r${line}${done === total ? '\n' : ''}`);
      return;
    }
    const now = Date.now();
    if (done === total || now - last >= 1000) {
      last = now;
      stderr.write(`${line}\n`);
    }
  };
}

function render(report: AuditReport, output: AuditCommand['output']): string {
  return AUDIT_OUTPUTS[output](report);
}

export async function runAudit(cmd: AuditCommand, logger: Logger, io: AuditIo): Promise<number> {
  const kubeConfig = loadKubeConfig({
    ...(cmd.kubeconfig !== undefined ? { file: cmd.kubeconfig } : {}),
    ...(cmd.context !== undefined ? { context: cmd.context } : {}),
    required: true,
    ...(io.env !== undefined ? { env: io.env } : {}),
  });
  if (kubeConfig === undefined) return 2; // required: loadKubeConfig throws instead
  const setup = await setupEngine(cmd.common, logger, {
    kube: createKubeAccess(kubeConfig, logger),
    ...(io.env !== undefined ? { env: io.env, kms: { env: io.env } } : {}),
  });
  try {
    const server = kubeConfig.getCurrentCluster()?.server ?? '?';
    let inventory;
    try {
      inventory = await collectInventory(createClusterLister(kubeConfig), {
        namespaces: cmd.namespaces,
        log: logger,
        retry: {
          onRetry: (r) =>
            logger.warn({ code: r.code, retryInMs: r.delayMs }, `API server: ${r.reason}; retrying`),
        },
      });
    } catch (err) {
      const code = statusCode(err);
      throw new KubeApiError(
        code === 401 || code === 403
          ? 'API_FORBIDDEN'
          : code === undefined || code === 429 || code >= 500
            ? 'API_UNAVAILABLE'
            : 'API_REJECTED',
        `cannot list workloads from ${server}${code !== undefined ? ` (HTTP ${code})` : ''}: ${errorMessage(err).slice(0, 300)}`,
        { cause: err },
      );
    }
    const scanned = await scanInventory(inventory, setup.engine, {
      namespaces: cmd.namespaces,
      onProgress: progress(io.stderr),
    });
    const report = {
      ...filterByException(scanned, cmd.exceptions),
      cluster: { context: kubeConfig.getCurrentContext(), server },
    };
    const text = render(report, cmd.output);
    if (cmd.out !== undefined) await writeFile(cmd.out, text);
    else io.stdout.write(text);
    return report.summary.wouldDeny > 0 ? 1 : 0;
  } finally {
    await setup.registry.close();
  }
}
