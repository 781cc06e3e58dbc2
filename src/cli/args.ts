/**
 * Command-line parsing for `imagegate serve|check|review`. Flag names are public contract: extend,
 * never rename. Usage errors are ConfigError('USAGE') → exit code 2.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../errors.js';
import type { Unmatched } from '../evaluate.js';
import type { PolicyMode } from '../policy/policy.schema.js';
import { parseInterval } from './interval.js';

export const USAGE = `imagegate: admit Kubernetes pods only when their images pass policy

Usage:
  imagegate serve  [--policy PATH]... [--listen HOST:PORT] [--tls-cert F --tls-key F] [--mode enforce|audit]
  imagegate check  [--policy PATH]... [--output text|json] IMAGE...
  imagegate review [--policy PATH]... FILE|-
  imagegate audit  [--policy PATH]... [--kubeconfig FILE] [--context NAME] [--namespace NS]...
                   [--output text|json|html] [--out FILE]

Common options:
  --policy PATH                 ImagePolicy YAML file or directory (repeatable); default: built-in audit policy
  --mode enforce|audit          override every policy's mode (audit: never deny, warn and log)
  --unmatched allow|audit|deny  decision for images no policy governs (default allow)
  --registry-config FILE        registry options YAML (credentials, CAs, mirrors, allowlist)
  --insecure-registry HOST[:PORT]  allow plain HTTP to this registry (repeatable)
  --allow-registry HOST[:PORT]  only ever contact these registries (repeatable)
  --allow-auth-host HOST[:PORT]  with an allowlist: a token service registries may name (repeatable)
  --trusted-root NAME=FILE      Sigstore trusted_root.json for authorities naming NAME (repeatable)
  --log-level LEVEL             fatal|error|warn|info|debug (default info)

serve:
  --listen HOST:PORT            default 0.0.0.0:8443
  --tls-cert FILE --tls-key FILE  serving certificate (reloaded on change); default: a generated dev certificate
  --client-ca FILE              require API-server client certificates signed by this CA
  --watch-policies              also load ImagePolicy resources from the cluster
  --kubeconfig FILE             Kubernetes client configuration (default: $KUBECONFIG, else in-cluster)
  --context NAME                context of that configuration (default: its current-context)
  --background-audit DURATION   re-audit what runs every DURATION (e.g. 1h; jittered) and write reports
  --reports policyreports|openreports  report kind for --background-audit (default policyreports)
  --events                      Warning Events on enforce-mode denials (background audit: always)
  --pull-secrets                authenticate with each pod's imagePullSecrets and its service account's
  --audit-log FILE              write audit records to FILE instead of stdout

check:
  --output text|json            default text
  --namespace NAME              evaluate as if the pod ran in NAME (default "default")
  --as REF                      match oci:PATH images against policies as REF (the name they will be pushed as)

audit (what already runs; see docs/audit.md):
  --kubeconfig FILE --context NAME  as for serve
  --namespace NS                only these namespaces (repeatable; default all)
  --output text|json|html       default text (progress on stderr)
  --out FILE                    write the report to FILE instead of stdout

Exit codes: 0 allowed (audit: nothing would be denied), 1 denied (audit: something would be),
2 usage or configuration error.
`;

export interface CommonOptions {
  policy: string[];
  mode?: PolicyMode;
  unmatched?: Unmatched;
  registryConfig?: string;
  insecureRegistry: string[];
  allowRegistry: string[];
  allowAuthHost?: string[];
  trustedRoot: string[];
  logLevel: string;
}

export type Command =
  | {
      command: 'serve';
      common: CommonOptions;
      listen: { host: string; port: number };
      tlsCert?: string;
      tlsKey?: string;
      clientCa?: string;
      watchPolicies: boolean;
      pullSecrets: boolean;
      auditLog?: string;
      kubeconfig?: string;
      context?: string;
      /** Milliseconds between background audit runs. */
      backgroundAudit?: number;
      reports: 'policyreports' | 'openreports';
      events: boolean;
    }
  | {
      command: 'check';
      common: CommonOptions;
      output: 'text' | 'json';
      namespace: string;
      as?: string;
      images: string[];
    }
  | { command: 'review'; common: CommonOptions; file: string }
  | {
      command: 'audit';
      common: CommonOptions;
      kubeconfig?: string;
      context?: string;
      namespaces: string[];
      output: 'text' | 'json' | 'html';
      out?: string;
    }
  | { command: 'help' }
  | { command: 'version' };

const common = {
  policy: { type: 'string', multiple: true },
  mode: { type: 'string' },
  unmatched: { type: 'string' },
  'registry-config': { type: 'string' },
  'insecure-registry': { type: 'string', multiple: true },
  'allow-registry': { type: 'string', multiple: true },
  'allow-auth-host': { type: 'string', multiple: true },
  'trusted-root': { type: 'string', multiple: true },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

function usage(message: string): ConfigError {
  return new ConfigError('USAGE', `${message}\nRun "imagegate --help" for usage.`);
}

function oneOf<T extends string>(
  flag: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw usage(`--${flag} must be one of ${allowed.join(', ')} (got "${value}")`);
  }
  return value as T;
}

export function parseListen(value: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]*):(\d{1,5})$/.exec(value);
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || !(port >= 0 && port <= 65535)) throw usage(`--listen must be HOST:PORT (got "${value}")`);
  const host = (m[1] ?? '').replace(/^\[|\]$/g, '');
  return { host: host === '' ? '0.0.0.0' : host, port };
}

function commonOf(
  values: Record<string, string | boolean | (string | boolean)[] | undefined>,
): CommonOptions {
  const list = (k: string): string[] => (values[k] as string[] | undefined) ?? [];
  const str = (k: string): string | undefined => values[k] as string | undefined;
  const mode = oneOf('mode', str('mode'), ['enforce', 'audit'] as const);
  const unmatched = oneOf('unmatched', str('unmatched'), ['allow', 'audit', 'deny'] as const);
  const logLevel = oneOf('log-level', str('log-level'), [
    'fatal',
    'error',
    'warn',
    'info',
    'debug',
    'trace',
    'silent',
  ] as const);
  const registryConfig = str('registry-config');
  return {
    policy: list('policy'),
    ...(mode !== undefined ? { mode } : {}),
    ...(unmatched !== undefined ? { unmatched } : {}),
    ...(registryConfig !== undefined ? { registryConfig } : {}),
    insecureRegistry: list('insecure-registry'),
    allowRegistry: list('allow-registry'),
    allowAuthHost: list('allow-auth-host'),
    trustedRoot: list('trusted-root'),
    logLevel: logLevel ?? 'info',
  };
}

export function parseCommand(argv: readonly string[]): Command {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') return { command: 'help' };
  if (name === '--version' || name === 'version') return { command: 'version' };
  type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;
  const parse = (options: ParseArgsConfig['options']): { values: Values; positionals: string[] } => {
    try {
      const r = parseArgs({
        args: [...rest],
        options: { ...common, ...options },
        allowPositionals: true,
        strict: true,
      });
      return { values: r.values as Values, positionals: r.positionals };
    } catch (err) {
      throw usage((err as Error).message);
    }
  };
  switch (name) {
    case 'serve': {
      const { values, positionals } = parse({
        listen: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'client-ca': { type: 'string' },
        'watch-policies': { type: 'boolean' },
        'pull-secrets': { type: 'boolean' },
        'audit-log': { type: 'string' },
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        'background-audit': { type: 'string' },
        reports: { type: 'string' },
        events: { type: 'boolean' },
      });
      if (values.help === true) return { command: 'help' };
      if (positionals.length > 0) throw usage(`serve takes no arguments (got "${positionals[0]}")`);
      const tlsCert = values['tls-cert'] as string | undefined;
      const tlsKey = values['tls-key'] as string | undefined;
      if ((tlsCert === undefined) !== (tlsKey === undefined))
        throw usage('--tls-cert and --tls-key go together');
      const clientCa = values['client-ca'] as string | undefined;
      const auditLog = values['audit-log'] as string | undefined;
      const kubeconfig = values.kubeconfig as string | undefined;
      const context = values.context as string | undefined;
      const every = values['background-audit'] as string | undefined;
      const backgroundAudit = every !== undefined ? parseInterval('background-audit', every) : undefined;
      const reports =
        oneOf('reports', values.reports as string | undefined, ['policyreports', 'openreports'] as const) ??
        'policyreports';
      return {
        command: 'serve',
        common: commonOf(values),
        listen: parseListen((values.listen as string | undefined) ?? '0.0.0.0:8443'),
        ...(tlsCert !== undefined ? { tlsCert } : {}),
        ...(tlsKey !== undefined ? { tlsKey } : {}),
        ...(clientCa !== undefined ? { clientCa } : {}),
        ...(auditLog !== undefined ? { auditLog } : {}),
        ...(kubeconfig !== undefined ? { kubeconfig } : {}),
        ...(context !== undefined ? { context } : {}),
        ...(backgroundAudit !== undefined ? { backgroundAudit } : {}),
        reports,
        events: values.events === true,
        watchPolicies: values['watch-policies'] === true,
        pullSecrets: values['pull-secrets'] === true,
      };
    }
    case 'check': {
      const { values, positionals } = parse({
        output: { type: 'string' },
        namespace: { type: 'string' },
        as: { type: 'string' },
      });
      if (values.help === true) return { command: 'help' };
      if (positionals.length === 0) throw usage('check needs at least one IMAGE');
      const as = values.as as string | undefined;
      return {
        command: 'check',
        common: commonOf(values),
        output: oneOf('output', values.output as string | undefined, ['text', 'json'] as const) ?? 'text',
        namespace: (values.namespace as string | undefined) ?? 'default',
        ...(as !== undefined ? { as } : {}),
        images: positionals,
      };
    }
    case 'review': {
      const { values, positionals } = parse({});
      if (values.help === true) return { command: 'help' };
      if (positionals.length !== 1) throw usage('review needs exactly one FILE (or - for standard input)');
      return { command: 'review', common: commonOf(values), file: positionals[0] ?? '-' };
    }
    case 'audit': {
      const { values, positionals } = parse({
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        namespace: { type: 'string', multiple: true },
        output: { type: 'string' },
        out: { type: 'string' },
      });
      if (values.help === true) return { command: 'help' };
      if (positionals.length > 0) throw usage(`audit takes no arguments (got "${positionals[0]}")`);
      const kubeconfig = values.kubeconfig as string | undefined;
      const context = values.context as string | undefined;
      const out = values.out as string | undefined;
      return {
        command: 'audit',
        common: commonOf(values),
        ...(kubeconfig !== undefined ? { kubeconfig } : {}),
        ...(context !== undefined ? { context } : {}),
        namespaces: (values.namespace as string[] | undefined) ?? [],
        output:
          oneOf('output', values.output as string | undefined, ['text', 'json', 'html'] as const) ?? 'text',
        ...(out !== undefined ? { out } : {}),
      };
    }
    default:
      throw usage(`unknown command "${name}"`);
  }
}
