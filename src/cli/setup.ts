/**
 * Builds the engine from command-line options: registry access, trust material, check compilers and
 * policies (files, or the built-in default). Shared by serve, check and review.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  defaultCacheDir,
  loadTrustedRoots,
  parseTrustedRootFlag,
  PUBLIC_GOOD,
  VerdictCache,
  type TrustedRootStore,
} from '../checks/signature/index.js';
import { EvidenceCache } from '../checks/attestations/index.js';
import { checkCompilers, type CheckCompilers } from '../checks/kinds.js';
import type { Engine, RequestScope } from '../evaluate/engine.js';
import { errorMessage } from '../errors.js';
import type { KubeAccess } from '../kube/index.js';
import { createKmsKeyReader, type KmsReader, type KmsReaderOptions } from '../kms/index.js';
import { BUILTIN_POLICY } from '../policy/builtin.js';
import { loadPolicySources } from '../policy/load.js';
import { DEFAULT_MAX_EXCEPTION_MS } from '../policy/exceptions.js';
import { compileExceptions, ExceptionStore } from '../policy/exception-store.js';
import type { ImagePolicyDocument } from '../policy/policy.schema.js';
import type { SignatureSpec } from '../checks/signature/schema.js';
import { ImageNames } from '../evaluate/image-names.js';
import { OutcomeReuse } from '../evaluate/reused-outcomes.js';
import { PolicyStore, type SourceState } from '../policy/store.js';
import { describeUnmatched } from '../policy/unmatched.js';
import {
  createRegistry,
  credentialChain,
  pullSecretProvider,
  registryOptionsFrom,
  type CloudCredentials,
  type CloudEnv,
  type CredentialProvider,
  type Registry,
  type RegistryAccess,
} from '../registry/index.js';
import type { CommonOptions } from './args.js';

export interface Setup {
  engine: Engine;
  store: PolicyStore;
  compilers: CheckCompilers;
  registry: Registry;
  trustedRoots: TrustedRootStore;
  /** Passing signature verdicts, shared by every policy (reloads included). */
  verdicts: VerdictCache;
  /** The cloud providers in the chain (`cloud:`, docs/cloud.md), for /readyz and metrics. */
  cloud: CloudCredentials | undefined;
  /** ImagePolicyExceptions: `files` from --policy, `cluster` from the watch (serve). */
  exceptions: ExceptionStore;
  /** `key.kms` public keys, cached per key reference (serve probes them for /readyz). */
  kms: KmsReader;
  /** Verified attestation statements, shared by every policy (its budget: --attestation-cache-bytes). */
  evidence: EvidenceCache;
}

export interface SetupOptions {
  /** Policies also come from the cluster (serve --watch-policies): no built-in fallback. */
  watchPolicies?: boolean;
  /** API access (secrets for key authorities, pull secrets, namespace labels), built in src/kube/. */
  kube?: KubeAccess;
  /** Read each pod's pull secrets (serve --pull-secrets). */
  pullSecrets?: boolean;
  /** Writable directory for caches (TUF); default: sigstore-js's own cache location. */
  cacheDir?: string;
  /** `key.kms` reader options (default: the process environment's credentials and endpoints). */
  kms?: Omit<KmsReaderOptions, 'onFetchError'>;
  onPolicyState?: (source: string, state: SourceState) => void;
  onRegistryRequest?: (registry: string, status: string, ms: number) => void;
  /**
   * The process environment: cloud workload identities (AWS_ROLE_ARN, …) join the credential chain
   * after the Docker config. Every command passes `io.env`, so check and audit use serve's chain.
   */
  env?: CloudEnv;
  /** One call per cloud token fetch (metrics), the key services' Google and Azure tokens included. */
  onCloudToken?: (provider: string, result: 'ok' | 'error') => void;
  /** The engine's clock (epoch ms); default Date.now. Tests pass a fake one. */
  now?: () => number;
  /** The attestation evidence cache's byte budget (serve --attestation-cache-bytes); default 16 MiB. */
  evidenceCacheBytes?: number;
  /** How long `key.kms` keys are fresh (serve --kms-key-refresh; wins over `kms.refreshMs`); default 1 h. */
  kmsKeyRefreshMs?: number;
}

/** Every set of authorities a policy names: its signature, its bases' and its attestations'. */
function signatureSpecsOf(
  doc: ImagePolicyDocument,
): Pick<SignatureSpec, 'authorities' | 'transparencyLog'>[] {
  return [
    ...(doc.spec.signature !== undefined ? [doc.spec.signature] : []),
    ...(doc.spec.base?.allowed ?? []).flatMap((a) => (a.signature !== undefined ? [a.signature] : [])),
    ...(doc.spec.attestations ?? []),
  ];
}

/**
 * Whether any policy may need the Sigstore public-good root. Only then is its TUF repository
 * contacted: a CLI run with key-only policies never reaches the network for trust material. A key
 * authority needs it when it names it, or by default when the policy requires a transparency log
 * entry (its Rekor entry is checked against public-good's log keys).
 */
export function needsPublicGood(docs: readonly ImagePolicyDocument[]): boolean {
  return docs.some((d) =>
    signatureSpecsOf(d).some((spec) =>
      spec.authorities.some(
        (a) =>
          (a.keyless !== undefined && (a.keyless.trustedRoot ?? PUBLIC_GOOD) === PUBLIC_GOOD) ||
          (a.key !== undefined &&
            (a.key.trustedRoot === PUBLIC_GOOD ||
              (a.key.trustedRoot === undefined && spec.transparencyLog === 'required'))),
      ),
    ),
  );
}

/** The pod's pull secrets, read like the kubelet does (serve --pull-secrets); unreadable ones are logged. */
function pullSecrets(kube: KubeAccess, logger: Logger): CredentialProvider {
  return pullSecretProvider(kube.pullSecretSource, {
    onError: (identity, err) =>
      logger.warn({ namespace: identity.namespace }, `cannot read pull secrets: ${errorMessage(err)}`),
  });
}

export async function setupEngine(
  options: CommonOptions,
  logger: Logger,
  setup: SetupOptions = {},
): Promise<Setup> {
  const registryOptions = await registryOptionsFrom({
    ...(options.registryConfig !== undefined ? { configFile: options.registryConfig } : {}),
    insecure: options.insecureRegistry,
    allow: options.allowRegistry,
    allowAuth: options.allowAuthHost ?? [],
    env: setup.env,
    cloudHooks: setup.onCloudToken !== undefined ? { onFetch: setup.onCloudToken } : undefined,
  });
  const credentials = credentialChain({
    ...(setup.pullSecrets === true && setup.kube !== undefined
      ? { pullSecrets: pullSecrets(setup.kube, logger) }
      : {}),
    ...registryOptions.credentialSources,
  });
  const registry = createRegistry(
    { ...registryOptions, credentials },
    {
      ...(setup.onRegistryRequest !== undefined ? { onRequest: setup.onRegistryRequest } : {}),
    },
  );

  const now = setup.now ?? Date.now;
  const maxExceptionDurationMs = options.maxExceptionDurationMs ?? DEFAULT_MAX_EXCEPTION_MS;
  const sources =
    options.policy.length > 0
      ? await loadPolicySources(options.policy, { now: now(), maxDurationMs: maxExceptionDurationMs })
      : { policies: [], exceptions: [], tenants: [] };
  const fileDocs = sources.policies;
  const exceptions = new ExceptionStore();
  exceptions.replace('files', compileExceptions(sources.exceptions));
  const useBuiltin = options.policy.length === 0 && setup.watchPolicies !== true;
  // Tenant policies have the same authority sections (their spec is ImagePolicy's minus namespaces).
  const withTenants = [...fileDocs, ...(sources.tenants as unknown as ImagePolicyDocument[])];
  const offline = !(setup.watchPolicies === true || needsPublicGood(withTenants));
  const trustedRoots = await loadTrustedRoots({
    files: options.trustedRoot.map(parseTrustedRootFlag),
    tufCacheDir: join(setup.cacheDir ?? defaultCacheDir(), 'tuf'),
    offline,
  });
  for (const s of trustedRoots.status()) {
    // Say which copy of a TUF root is used (online, or the cache and why).
    if (s.available && s.note !== undefined)
      logger.info({ trustedRoot: s.name }, `trusted root ${s.name}: ${s.note}`);
    if (s.available) continue;
    const message = `trusted root ${s.name} unavailable: ${s.reason ?? ''}`;
    // Offline on purpose: no policy names public-good, so its absence is no news.
    if (offline && s.name === PUBLIC_GOOD) logger.debug({ trustedRoot: s.name }, message);
    else logger.warn({ trustedRoot: s.name }, message);
  }
  const secrets = setup.kube?.keySecrets;
  // `key.kms` keys: fetched on first use, then per key reference hourly or every --kms-key-refresh
  // (stale keys serve an outage).
  // The verdict caches read the key cache's clock: a verdict is kept no longer than its keys are fresh.
  const keyClock = setup.kms?.now ?? now;
  const kms = createKmsKeyReader({
    ...setup.kms,
    ...(setup.kmsKeyRefreshMs !== undefined ? { refreshMs: setup.kmsKeyRefreshMs } : {}),
    now: keyClock,
    // Cloud KMS and Key Vault tokens count in imagegate_cloud_token_* as gcp-kms and azure-keyvault
    ...(setup.onCloudToken !== undefined ? { tokenHooks: { onFetch: setup.onCloudToken } } : {}),
    onFetchError: (uri, err, servingStale) =>
      logger.warn(
        { kms: uri, code: err.code, servingStale },
        `key service: ${err.message}${servingStale ? ' (serving the last good keys)' : ''}`,
      ),
  });
  // One verdict cache for the image signature and base checks: a verified digest is not re-verified.
  const verdicts = new VerdictCache({ now: keyClock });
  // Verified attestation statements (conditions and maxAge are evaluated on them per review).
  const evidence = new EvidenceCache({
    now: keyClock,
    ...(setup.evidenceCacheBytes !== undefined ? { maxBytes: setup.evidenceCacheBytes } : {}),
  });
  const signatureDeps = {
    trustedRoots,
    cache: verdicts,
    attestationEvidence: evidence,
    ...(secrets !== undefined ? { secrets } : {}),
    kms,
  };
  const compilers = checkCompilers(signatureDeps);

  const required = [
    ...(options.policy.length > 0 ? ['files'] : []),
    ...(setup.watchPolicies === true ? ['cluster', 'cluster-tenants'] : []),
  ];
  const store = new PolicyStore(compilers, useBuiltin ? ['builtin'] : required, setup.onPolicyState);
  if (options.policy.length > 0) {
    store.replace('files', fileDocs, sources.tenants);
  } else if (useBuiltin) {
    store.replace('builtin', [BUILTIN_POLICY]);
    logger.info(
      { policy: BUILTIN_POLICY.metadata.name },
      'no --policy given: using the built-in default policy (audit mode: never denies, warns about tag-only images)',
    );
  }
  const unmatched = options.unmatched;
  logger.info(
    { unmatched: unmatched ?? 'default' },
    `images no policy governs: ${describeUnmatched(unmatched)}`,
  );
  if (options.mode !== undefined)
    logger.info({ mode: options.mode }, 'global mode override: every policy runs in this mode');

  const accessFor = (scope: RequestScope): RegistryAccess =>
    registry.access({
      identity: {
        namespace: scope.namespace,
        serviceAccount: scope.serviceAccount,
        pullSecrets: scope.pullSecrets,
      },
      ...(scope.deadline !== undefined ? { deadline: scope.deadline } : {}),
    });
  const engine: Engine = {
    policies: () => store.policies(),
    settings: {
      reuse: new OutcomeReuse(),
      names: new ImageNames(),
      ...(unmatched !== undefined ? { unmatched } : {}),
      ...(options.mode !== undefined ? { modeOverride: options.mode } : {}),
    },
    registry: (scope) => Promise.resolve(accessFor(scope)),
    registryNow: accessFor,
    ...(setup.kube !== undefined ? { namespaceLabels: setup.kube.namespaceLabels } : {}),
    exceptions: () => exceptions.all(),
    now,
  };
  return {
    engine,
    store,
    compilers,
    registry,
    trustedRoots,
    verdicts,
    cloud: registryOptions.cloud,
    exceptions,
    kms,
    evidence,
  };
}
