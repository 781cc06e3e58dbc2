/**
 * Builds the engine from command-line options: policies (files, or the built-in default), check
 * compilers, registry access and trust material. Shared by serve, check and review.
 */
import type { Logger } from 'pino';
import type { Engine } from '../engine.js';
import { BUILTIN_POLICY } from '../policy/builtin.js';
import type { CheckCompilers } from '../policy/compile.js';
import { loadPolicyFiles } from '../policy/load.js';
import { PolicyStore, type SourceState } from '../policy/store.js';
import type { CommonOptions } from './args.js';

export interface Setup {
  engine: Engine;
  store: PolicyStore;
  compilers: CheckCompilers;
}

export interface SetupOptions {
  /** Policies also come from the cluster (serve --watch-policies): no built-in fallback. */
  watchPolicies?: boolean;
  onPolicyState?: (source: string, state: SourceState) => void;
  onRegistryRequest?: (registry: string, status: string, seconds: number) => void;
}

export async function setupEngine(
  options: CommonOptions,
  logger: Logger,
  setup: SetupOptions = {},
): Promise<Setup> {
  const compilers: CheckCompilers = {};
  const required = [
    ...(options.policy.length > 0 ? ['files'] : []),
    ...(setup.watchPolicies === true ? ['cluster'] : []),
  ];
  const useBuiltin = required.length === 0;
  const store = new PolicyStore(compilers, useBuiltin ? ['builtin'] : required, setup.onPolicyState);
  if (options.policy.length > 0) {
    store.replace('files', await loadPolicyFiles(options.policy));
  } else if (useBuiltin) {
    store.replace('builtin', [BUILTIN_POLICY]);
    logger.info(
      { policy: BUILTIN_POLICY.metadata.name },
      'no --policy given: using the built-in default policy (audit mode: never denies, warns about tag-only images)',
    );
  }
  const unmatched = options.unmatched ?? 'allow';
  if (options.unmatched === undefined) {
    logger.info(
      'images that no policy governs are allowed (unmatched: allow; set --unmatched audit|deny to change)',
    );
  }
  if (options.mode !== undefined)
    logger.info({ mode: options.mode }, 'global mode override: every policy runs in this mode');
  const engine: Engine = {
    policies: () => store.policies(),
    settings: { unmatched, ...(options.mode !== undefined ? { modeOverride: options.mode } : {}) },
  };
  return { engine, store, compilers };
}
