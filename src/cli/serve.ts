/**
 * `imagegate serve`: process wiring for the webhook. Load config → build dependencies → listen →
 * graceful shutdown on SIGTERM (stop accepting, finish in-flight reviews, flush audit records).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createAuditWriter, openAuditDestination } from '../audit/writer.js';
import {
  createKubeAccess,
  KeyProbe,
  loadKubeConfig,
  NAMESPACED_IMAGE_POLICIES,
  watchImagePolicies,
  type PolicyVerdict,
  type PolicyWatch,
} from '../kube/index.js';
import { clusterPolicyHandler, TENANT_POLICY_KIND_HANDLING } from '../policy/cluster-policies.js';
import { describeUnmatched } from '../policy/unmatched.js';
import { buildApp } from '../server/app.js';
import { createDevCertificate } from '../server/dev-cert.js';
import { createMetrics } from '../server/metrics.js';
import {
  loadTlsOptions,
  SERVER_CIPHERS,
  watchTlsFiles,
  type TlsServerOptions,
  type TlsWatcher,
} from '../server/tls.js';
import type { Command } from './args.js';
import type { CliIo } from './io.js';
import { startServeAudit } from './serve-audit.js';
import { serveExceptions } from './serve-exceptions.js';
import { KmsProbe } from '../kms/index.js';
import { needsPublicGood, setupEngine } from './setup.js';
import { namesKeyless, warmUp } from './warm-up.js';
import { PUBLIC_GOOD } from '../checks/signature/index.js';

type ServeCommand = Extract<Command, { command: 'serve' }>;

const KEY_PROBE_INTERVAL_MS = 60_000;

/** After each cluster policy change: probe every policy's key Secrets; accepted ones missing a key are degraded. */
function withKeyProbe(
  handler: (docs: unknown[]) => PolicyVerdict,
  keys: readonly Pick<KeyProbe, 'probe'>[],
  documents: () => readonly unknown[],
): (docs: unknown[]) => Promise<PolicyVerdict> {
  return async (docs) => {
    const verdict = handler(docs);
    if (keys.length === 0) return verdict;
    const problems = (await Promise.all(keys.map((k) => k.probe(documents())))).flat();
    const accepted = new Set(verdict.accepted);
    const degraded = problems
      .filter((p) => accepted.has(p.policy))
      .map((p) => ({ name: p.policy, error: p.message }));
    return degraded.length > 0 ? { ...verdict, degraded } : verdict;
  };
}

export async function runServe(cmd: ServeCommand, logger: Logger, io: CliIo): Promise<number> {
  const metrics = createMetrics({ defaultMetrics: true });
  const kubeConfig = loadKubeConfig({
    ...(cmd.kubeconfig !== undefined ? { file: cmd.kubeconfig } : {}),
    ...(cmd.context !== undefined ? { context: cmd.context } : {}),
    required: cmd.watchPolicies || cmd.pullSecrets || cmd.backgroundAudit !== undefined || cmd.events,
    env: io.env,
  });
  const kube = kubeConfig !== undefined ? createKubeAccess(kubeConfig, logger) : undefined;
  const cacheDir = io.env.IMAGEGATE_CACHE_DIR;
  const setup = await setupEngine(cmd.common, logger, {
    kms: {
      env: io.env,
      onFetch: (service, result) => {
        const provider = service;
        if (result === 'stale') return metrics.kmsKeyStale.inc({ provider });
        metrics.kmsKeyFetches.inc({ provider });
        if (result === 'error') metrics.kmsKeyFailures.inc({ provider });
      },
    },
    ...cmd.caches,
    watchPolicies: cmd.watchPolicies,
    pullSecrets: cmd.pullSecrets,
    ...(kube !== undefined ? { kube } : {}),
    ...(cacheDir !== undefined ? { cacheDir } : {}),
    onPolicyState: (source, state) => {
      metrics.policiesLoaded.set({ source }, state.count);
      metrics.policyErrors.set({ source }, state.error === undefined ? 0 : 1);
      if (state.error !== undefined)
        logger.error({ source }, `policy set rejected, keeping the last good one: ${state.error}`);
    },
    onRegistryRequest: (registry, status) => metrics.registryRequests.inc({ registry, status }),
    env: io.env,
    onCloudToken: (provider, result) => {
      metrics.cloudTokenFetches.inc({ provider });
      if (result === 'error') metrics.cloudTokenFailures.inc({ provider });
    },
  });
  const cloud = setup.cloud;
  // registry tokens and the key services' Google and Azure tokens (providers gcp-kms, azure-keyvault)
  metrics.watchCloudTokens(() => [...(cloud?.status() ?? []), ...setup.kms.tokenStatus()]);
  metrics.watchKmsKeys(() => setup.kms.keyStatus());
  if (cloud !== undefined) {
    for (const s of cloud.status())
      logger.info({ provider: s.provider }, `cloud credentials: ${s.provider} as ${s.identity}`);
  }
  const { engine, store, trustedRoots } = setup;
  // key Secrets read at load, on every policy change and every minute: /readyz and status say what is missing
  const keys = kube !== undefined ? new KeyProbe(kube.keySecrets) : undefined;
  // key.kms keys likewise (the first fetch also warms the cache before the first review needs it)
  const kmsKeys = new KmsProbe(setup.kms);
  const probes = [kmsKeys, ...(keys !== undefined ? [keys] : [])];
  const probeKeys = (): void => {
    for (const p of probes) void p.probe(store.documents());
  };
  probeKeys();
  const keyTimer = setInterval(probeKeys, KEY_PROBE_INTERVAL_MS);
  keyTimer.unref();
  engine.onCheck = (check, _policy, seconds) => metrics.checkDuration.observe({ check }, seconds);

  let https: TlsServerOptions;
  if (cmd.tlsCert !== undefined && cmd.tlsKey !== undefined) {
    https = loadTlsOptions({
      certFile: cmd.tlsCert,
      keyFile: cmd.tlsKey,
      ...(cmd.clientCa !== undefined ? { clientCaFile: cmd.clientCa } : {}),
    });
  } else {
    const dir = io.env.IMAGEGATE_DATA_DIR ?? join(tmpdir(), 'imagegate');
    const dev = await createDevCertificate(dir);
    https = {
      cert: dev.cert,
      key: dev.key,
      minVersion: 'TLSv1.2',
      ciphers: SERVER_CIPHERS,
      honorCipherOrder: true,
      requestCert: false,
      rejectUnauthorized: false,
    };
    logger.warn(
      { caFile: dev.caPath },
      `no --tls-cert given: serving a self-generated development certificate; its CA is at ${dev.caPath}`,
    );
  }

  const audit = createAuditWriter(openAuditDestination(cmd.auditLog ?? 1));
  const cluster = startServeAudit(
    cmd,
    kubeConfig,
    engine,
    audit,
    metrics,
    logger,
    io.env,
    () => store.readiness().ready,
  );
  let watch: PolicyWatch | undefined;
  let tenantWatch: PolicyWatch | undefined;
  // not ready until the warm-up has run (or given up): a new replica's first pods are not its slowest
  let warming = cmd.warmUp;
  const app = buildApp({
    engine,
    audit: cluster.audit,
    metrics,
    logger,
    readiness: () => {
      if (warming)
        return {
          ready: false,
          reason: 'warming up (--warm-up): reviewing synthetic signed images',
        };
      const policies = store.readiness();
      const unmatched = describeUnmatched(cmd.common.unmatched);
      if (!policies.ready)
        return watch?.lastError !== undefined
          ? { ready: false, reason: `${policies.reason} (${watch.lastError})`, unmatched }
          : { ...policies, unmatched };
      const degraded = trustedRoots
        .status()
        .filter((r) => !r.available && (r.name !== PUBLIC_GOOD || needsPublicGood(store.documents())))
        .map((r) => `trusted root ${r.name} unavailable: ${r.reason ?? 'unknown'}`);
      for (const p of probes.flatMap((k) => k.problems())) degraded.push(`policy ${p.policy}: ${p.message}`);
      for (const c of cloud?.status() ?? [])
        if (c.tokens === 0 && c.lastError !== undefined)
          degraded.push(
            `cloud credentials ${c.provider} (as ${c.identity}) cannot get a token: ${c.lastError}. Fix: ${c.fix ?? ''}`,
          );
      const auditDegraded = cluster.background?.degraded;
      if (auditDegraded !== undefined) degraded.push(`background audit: ${auditDegraded}`);
      return { ...policies, degraded, unmatched };
    },
    https,
    mutate: true,
    bodyBudget: cmd.bodyBudget,
    callerAuth: {
      requireClientCert: cmd.clientCa !== undefined && cmd.tlsCert !== undefined,
      withholdFromUnauthenticated: cmd.pullSecrets,
    },
  });
  if (cmd.pullSecrets && cmd.clientCa === undefined) {
    logger.warn(
      'pull secrets without --client-ca: review answers carry only allowed/denied, no registry details ' +
        "(any caller could name another namespace's secret); the audit log has them. Set --client-ca.",
    );
  }

  const stopping = new AbortController();
  const exceptionWatch = serveExceptions(setup, metrics, {
    logger,
    ...(kubeConfig !== undefined ? { kubeConfig } : {}),
    watch: cmd.watchPolicies,
    ...(cmd.common.maxExceptionDurationMs !== undefined
      ? { maxDurationMs: cmd.common.maxExceptionDurationMs }
      : {}),
    signal: stopping.signal,
  });
  if (cmd.watchPolicies && kubeConfig !== undefined) {
    const policies = withKeyProbe(
      clusterPolicyHandler(setup.store, setup.compilers, logger, (n) =>
        metrics.policiesRejected.set({ source: 'cluster' }, n),
      ),
      probes,
      () => store.documents(),
    );
    watch = watchImagePolicies({
      kubeConfig,
      onChange: async (docs) => {
        const verdict = await policies(docs);
        exceptionWatch?.resync(); // exceptions naming these policies may change phase
        return verdict;
      },
      log: logger,
      signal: stopping.signal,
    });
    // Tenants' NamespacedImagePolicies: a source of their own, required for readiness like the cluster's.
    const tenants = clusterPolicyHandler(
      setup.store,
      setup.compilers,
      logger,
      (n) => metrics.policiesRejected.set({ source: 'cluster-tenants' }, n),
      TENANT_POLICY_KIND_HANDLING,
    );
    tenantWatch = watchImagePolicies({
      kubeConfig,
      resource: NAMESPACED_IMAGE_POLICIES,
      absentIsEmpty: true,
      onChange: (docs) => {
        const verdict = tenants(docs);
        exceptionWatch?.resync();
        return verdict;
      },
      log: logger,
      signal: stopping.signal,
    });
  }
  let tlsWatcher: TlsWatcher | undefined;
  await app.listen({ host: cmd.listen.host, port: cmd.listen.port });
  if (cmd.tlsCert !== undefined && cmd.tlsKey !== undefined) {
    // cert-manager rotates the mounted Secret: new connections get the new certificate.
    tlsWatcher = watchTlsFiles(
      app.server as unknown as Parameters<typeof watchTlsFiles>[0], // the HTTPS server Fastify created
      {
        certFile: cmd.tlsCert,
        keyFile: cmd.tlsKey,
        ...(cmd.clientCa !== undefined ? { clientCaFile: cmd.clientCa } : {}),
      },
      { log: logger, signal: stopping.signal },
    );
  }
  if (warming)
    void warmUp({ keyless: namesKeyless(store.documents()) }).then((r) => {
      warming = false;
      if (r.ok) logger.info({ warmUp: r }, 'warm-up done');
      else logger.warn({ warmUp: r }, `warm-up incomplete, ready without it: ${r.problem ?? ''}`);
    });
  const refresh = setInterval(() => void trustedRoots.refresh(), 6 * 3600 * 1000);
  refresh.unref();
  logger.info({ policies: engine.policies().map((p) => p.name) }, 'imagegate is serving');

  await new Promise<void>((resolve) => {
    let stopped = false;
    const stop = (signal: string): void => {
      if (stopped) return;
      stopped = true;
      logger.info({ signal }, 'shutting down: finishing in-flight reviews');
      stopping.abort();
      clearInterval(refresh);
      clearInterval(keyTimer);
      tlsWatcher?.close();
      Promise.allSettled([watch?.stop(), tenantWatch?.stop(), exceptionWatch?.stop(), cluster.stop()])
        .then(() => app.close())
        .catch((err: unknown) => logger.error({ err }, 'error while closing'))
        .then(() => setup.registry.close())
        .then(() => audit.flush())
        .finally(resolve);
    };
    io.onStop(stop);
  });
  return 0;
}
