/**
 * The engine: everything a decision needs, built once at start-up and shared by the webhook and the
 * CLI. Holds no request state.
 */
import type { CheckName } from '../checks/kinds.js';
import type { EngineSettings } from './evaluate.js';
import type { CompiledPolicy } from '../policy/compile.js';
import type { CompiledException } from '../policy/exceptions.js';
import type { RegistryAccess } from '../registry/types.js';

export interface RequestScope {
  namespace: string;
  /** Names of the pod's imagePullSecrets (resolved by the registry layer when configured). */
  pullSecrets?: readonly string[];
  serviceAccount?: string;
  /** Epoch ms when the review's budget ends. */
  deadline?: number;
}

export interface Engine {
  policies(): readonly CompiledPolicy[];
  settings: EngineSettings;
  /** Per-request registry access (shared deadline, pull credentials); absent: no registry configured. */
  registry?: (scope: RequestScope) => Promise<RegistryAccess>;
  /**
   * The same access without a promise, where making it needs no I/O (the cached path answers
   * synchronously with it: evaluate/reuse-now.ts); absent: `registry` is awaited.
   */
  registryNow?: (scope: RequestScope) => RegistryAccess;
  /** Labels of a namespace for label-selector matching; undefined when unknown. */
  namespaceLabels?: (namespace: string, signal: AbortSignal) => Promise<Record<string, string> | undefined>;
  onCheck?: (check: CheckName, policy: string, seconds: number, passed: boolean) => void;
  /** ImagePolicyExceptions loaded (files, cluster), in every state; absent: none. */
  exceptions?: () => readonly CompiledException[];
  /** The engine's clock (epoch ms): exceptions expire by it. Default Date.now. */
  now?: () => number;
}
