/**
 * `imagegate serve`: process wiring for the webhook. Load config → build dependencies → listen →
 * graceful shutdown on SIGTERM (stop accepting, finish in-flight reviews, flush audit records).
 */
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { createAuditWriter } from '../audit/writer.js';
import { ConfigError, errorMessage } from '../errors.js';
import { createNamespaceLabels } from '../kube/namespace-labels.js';
import { mutateAdmission } from '../mutate.js';
import { buildApp } from '../server/app.js';
import { createDevCertificate } from '../server/dev-cert.js';
import { createMetrics } from '../server/metrics.js';
import type { Command } from './args.js';
import { setupEngine } from './setup.js';

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError('CONFIG_INVALID', `cannot read ${what} ${path}: ${errorMessage(err)}`);
  }
}

function kubeConfigFromEnvironment(required: boolean): KubeConfig | undefined {
  if (
    !required &&
    process.env.KUBERNETES_SERVICE_HOST === undefined &&
    process.env.KUBECONFIG === undefined
  ) {
    return undefined;
  }
  const kc = new KubeConfig();
  try {
    kc.loadFromDefault();
  } catch (err) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `cannot load Kubernetes client configuration: ${errorMessage(err)}`,
    );
  }
  return kc;
}

export async function runServe(cmd: Extract<Command, { command: 'serve' }>, logger: Logger): Promise<number> {
  const metrics = createMetrics({ defaultMetrics: true });
  const { engine, store } = await setupEngine(cmd.common, logger, {
    watchPolicies: cmd.watchPolicies,
    onPolicyState: (source, state) => {
      metrics.policiesLoaded.set({ source }, state.count);
      metrics.policyErrors.set({ source }, state.error === undefined ? 0 : 1);
      if (state.error !== undefined)
        logger.error({ source }, `policy set rejected, keeping the last good one: ${state.error}`);
    },
    onRegistryRequest: (registry, status) => metrics.registryRequests.inc({ registry, status }),
  });
  engine.onCheck = (check, _policy, seconds) => metrics.checkDuration.observe({ check }, seconds);

  // In a cluster (or with KUBECONFIG) imagegate talks to the API server: namespace labels, policies.
  const kubeConfig = kubeConfigFromEnvironment(cmd.watchPolicies);
  if (kubeConfig !== undefined) engine.namespaceLabels = createNamespaceLabels(kubeConfig, logger);

  let cert: string;
  let key: string;
  if (cmd.tlsCert !== undefined && cmd.tlsKey !== undefined) {
    cert = await readPem(cmd.tlsCert, 'TLS certificate');
    key = await readPem(cmd.tlsKey, 'TLS key');
  } else {
    const dir = process.env.IMAGEGATE_DATA_DIR ?? join(tmpdir(), 'imagegate');
    const dev = await createDevCertificate(dir);
    cert = dev.cert;
    key = dev.key;
    logger.warn(
      { caFile: dev.caPath },
      `no --tls-cert given: serving a self-generated development certificate; its CA is at ${dev.caPath}`,
    );
  }
  const clientCa = cmd.clientCa !== undefined ? await readPem(cmd.clientCa, 'client CA') : undefined;

  const audit = createAuditWriter(
    cmd.auditLog !== undefined
      ? pino.destination({ dest: cmd.auditLog, sync: false, mkdir: true })
      : undefined,
  );
  const app = buildApp({
    engine,
    audit,
    metrics,
    logger,
    readiness: () => store.readiness(),
    mutate: (review, signal) => mutateAdmission(review, engine, signal),
    https: {
      cert,
      key,
      minVersion: 'TLSv1.2',
      ...(clientCa !== undefined ? { ca: clientCa, requestCert: true, rejectUnauthorized: true } : {}),
    },
  });

  await app.listen({ host: cmd.listen.host, port: cmd.listen.port });
  logger.info({ policies: engine.policies().map((p) => p.name) }, 'imagegate is serving');

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down: finishing in-flight reviews');
      app
        .close()
        .catch((err: unknown) => logger.error({ err }, 'error while closing'))
        .then(() => audit.flush())
        .finally(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
