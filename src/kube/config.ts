/**
 * Kubernetes client configuration, in one place: `--kubeconfig FILE` (with `--context NAME`), else
 * `$KUBECONFIG`, else the in-cluster service account. Every API call imagegate makes goes through
 * a KubeConfig built here.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { ConfigError, errorMessage } from '../errors.js';

export interface KubeConfigOptions {
  /** `--kubeconfig FILE`: wins over $KUBECONFIG and the in-cluster configuration. */
  file?: string;
  /** `--context NAME`: a context of that file (default: its current-context). */
  context?: string;
  /** Fail when no configuration is found (default: return undefined outside a cluster). */
  required?: boolean;
  /** Without flags or $KUBECONFIG, also use ~/.kube/config when it exists (what kubectl reads). */
  optionalDefaultFile?: boolean;
  env?: Readonly<Record<string, string | undefined>>;
}

/** Whether some Kubernetes configuration is within reach without flags. */
export function hasKubeEnvironment(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  return env.KUBERNETES_SERVICE_HOST !== undefined || (env.KUBECONFIG ?? '') !== '';
}

/**
 * Loads the client configuration, or undefined when none is asked for and none is in reach.
 * Throws ConfigError('CONFIG_INVALID') naming the source when it cannot be read.
 */
export function loadKubeConfig(options: KubeConfigOptions = {}): KubeConfig | undefined {
  const env = options.env ?? process.env;
  const defaultFile = join(env.HOME ?? homedir(), '.kube', 'config');
  if (options.file === undefined && !hasKubeEnvironment(env)) {
    // client-node would fall back to http://localhost:8080: name what was looked at instead
    const fileThere =
      (options.required === true || options.optionalDefaultFile === true) && existsSync(defaultFile);
    if (!fileThere && options.required === true) {
      throw new ConfigError(
        'CONFIG_INVALID',
        `no kubeconfig found (looked at --kubeconfig, $KUBECONFIG, ${defaultFile} and the in-cluster service account): give --kubeconfig FILE`,
      );
    }
    if (!fileThere) return undefined;
  }
  const kc = new KubeConfig();
  const source =
    options.file !== undefined
      ? `kubeconfig ${options.file}`
      : (env.KUBECONFIG ?? '') !== ''
        ? `$KUBECONFIG (${env.KUBECONFIG})`
        : existsSync(defaultFile)
          ? defaultFile
          : 'the in-cluster service account';
  try {
    if (options.file !== undefined) kc.loadFromFile(options.file);
    else kc.loadFromDefault();
  } catch (err) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `cannot load Kubernetes client configuration from ${source}: ${errorMessage(err)}`,
    );
  }
  if (options.context !== undefined) {
    if (kc.getContextObject(options.context) === null) {
      const known = kc.getContexts().map((c) => c.name);
      throw new ConfigError(
        'CONFIG_INVALID',
        `--context ${options.context}: no such context in ${source} (it has: ${known.join(', ') || 'none'})`,
      );
    }
    kc.setCurrentContext(options.context);
  }
  if (kc.getCurrentCluster() === null) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `Kubernetes client configuration from ${source} names no cluster for context "${kc.getCurrentContext()}"`,
    );
  }
  return kc;
}
