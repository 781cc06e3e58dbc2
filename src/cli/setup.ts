/**
 * Builds the engine from command-line options: registry access, trust material, check compilers and
 * policies (files, or the built-in default). Shared by serve, check and review.
 */
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import {
  compileSignatureCheck,
  defaultCacheDir,
  loadTrustedRoots,
  parseTrustedRootFlag,
  PUBLIC_GOOD,
  VerdictCache,
  type TrustedRootStore,
} from '../checks/signature/index.js';
import { compileBaseCheck } from '../checks/base/index.js';
import { compileSizeCheck } from '../checks/size.js';
import type { Engine, RequestScope } from '../engine.js';
import { errorMessage } from '../errors.js';
import { createSecretReader, ownNamespace } from '../kube/secrets.js';
import { BUILTIN_POLICY } from '../policy/builtin.js';
import type { CheckCompilers } from '../policy/compile.js';
import { loadPolicyFiles } from '../policy/load.js';
import type { ImagePolicyDocument, SignatureSpec } from '../policy/policy.schema.js';
import { PolicyStore, type SourceState } from '../policy/store.js';
import { describeUnmatched } from '../policy/unmatched.js';
import { createRegistry, readPullSecrets, registryOptionsFrom, type Registry } from '../registry/index.js';
import { TtlCache } from '../registry/cache.js';
import type { CredentialStore } from '../registry/credentials.js';
import type { CommonOptions } from './args.js';

export interface Setup {
  engine: Engine;
  store: PolicyStore;
  compilers: CheckCompilers;
  registry: Registry;
  trustedRoots: TrustedRootStore;
  /** Passing signature verdicts, shared by every policy (reloads included). */
  verdicts: VerdictCache;
}

export interface SetupOptions {
  /** Policies also come from the cluster (serve --watch-policies): no built-in fallback. */
  watchPolicies?: boolean;
  /** API access in the cluster (secrets for key authorities, pull secrets). */
  kubeConfig?: KubeConfig;
  /** Read each pod's pull secrets (serve --pull-secrets). */
  pullSecrets?: boolean;
  /** Writable directory for caches (TUF); default: sigstore-js's own cache location. */
  cacheDir?: string;
  onPolicyState?: (source: string, state: SourceState) => void;
  onRegistryRequest?: (registry: string, status: string, ms: number) => void;
}

function signatureSpecsOf(doc: ImagePolicyDocument): SignatureSpec[] {
  return [
    ...(doc.spec.signature !== undefined ? [doc.spec.signature] : []),
    ...(doc.spec.base?.allowed ?? []).flatMap((a) => (a.signature !== undefined ? [a.signature] : [])),
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

const PULL_SECRET_TTL_MS = 30_000;

/** Pull credentials per pod, read like the kubelet does, cached briefly per (namespace, names). */
function pullCredentials(kubeConfig: KubeConfig, logger: Logger) {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const cache = new TtlCache<Promise<CredentialStore | undefined>>(5000);
  return (scope: RequestScope): Promise<CredentialStore | undefined> => {
    const key = `${scope.namespace}\n${scope.serviceAccount ?? 'default'}\n${(scope.pullSecrets ?? []).join(',')}`;
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const store = readPullSecrets(api, {
      namespace: scope.namespace,
      imagePullSecrets: (scope.pullSecrets ?? []).map((name) => ({ name })),
      serviceAccountName: scope.serviceAccount,
    }).catch((err: unknown) => {
      // Without the pod's credentials the registry may still answer anonymously; never cache this.
      cache.delete(key);
      logger.warn({ namespace: scope.namespace }, `cannot read pull secrets: ${errorMessage(err)}`);
      return undefined;
    });
    cache.set(key, store, PULL_SECRET_TTL_MS);
    return store;
  };
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
  });
  const registry = createRegistry(registryOptions, {
    ...(setup.onRegistryRequest !== undefined ? { onRequest: setup.onRegistryRequest } : {}),
  });

  const fileDocs = options.policy.length > 0 ? await loadPolicyFiles(options.policy) : [];
  const useBuiltin = options.policy.length === 0 && setup.watchPolicies !== true;
  const offline = !(setup.watchPolicies === true || needsPublicGood(fileDocs));
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
  const secrets =
    setup.kubeConfig !== undefined ? createSecretReader(setup.kubeConfig, ownNamespace()) : undefined;
  // One verdict cache for the image signature and base checks: a verified digest is not re-verified.
  const verdicts = new VerdictCache();
  const signatureDeps = {
    trustedRoots,
    cache: verdicts,
    ...(secrets !== undefined ? { secrets } : {}),
  };
  const compilers: CheckCompilers = {
    size: compileSizeCheck,
    signature: (spec, name) => compileSignatureCheck(spec, name, signatureDeps),
    base: (spec, name, imageSignature) => compileBaseCheck(spec, name, imageSignature, signatureDeps),
  };

  const required = [
    ...(options.policy.length > 0 ? ['files'] : []),
    ...(setup.watchPolicies === true ? ['cluster'] : []),
  ];
  const store = new PolicyStore(compilers, useBuiltin ? ['builtin'] : required, setup.onPolicyState);
  if (options.policy.length > 0) {
    store.replace('files', fileDocs);
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

  const credentialsFor =
    setup.pullSecrets === true && setup.kubeConfig !== undefined
      ? pullCredentials(setup.kubeConfig, logger)
      : undefined;
  const engine: Engine = {
    policies: () => store.policies(),
    settings: {
      ...(unmatched !== undefined ? { unmatched } : {}),
      ...(options.mode !== undefined ? { modeOverride: options.mode } : {}),
    },
    registry: async (scope) => {
      const credentials = await credentialsFor?.(scope);
      return registry.access({
        ...(credentials !== undefined ? { credentials } : {}),
        ...(scope.deadline !== undefined ? { deadline: scope.deadline } : {}),
      });
    },
  };
  return { engine, store, compilers, registry, trustedRoots, verdicts };
}
