/**
 * Command-line parsing for `imagegate serve|check|review`. Flag names are public contract: extend,
 * never rename. Usage errors are ConfigError('USAGE') → exit code 2.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../errors.js';
import type { BodyBudgetOptions } from '../server/body-budget.js';
import { BODY_FLAGS, parseBodyFlags } from './body-flags.js';
import { CACHE_FLAGS, parseCacheFlags, type CacheOptions } from './cache-flags.js';
import type { Unmatched } from '../evaluate/evaluate.js';
import type { PolicyMode } from '../policy/policy.schema.js';
import { AUDIT_OUTPUT_NAMES, type AuditOutput } from '../report/formats.js';
import { parseInterval } from './interval.js';
import { parseDurationMs } from '../shared/duration.js';
import type { CommandName } from './usage.js';

function isCommandName(name: string | undefined): name is CommandName {
  return name === 'serve' || name === 'check' || name === 'review' || name === 'audit';
}

export { USAGE } from './usage.js';

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
  /** `--max-exception-duration`: how far ahead an ImagePolicyException may expire (ms; default 30d). */
  maxExceptionDurationMs?: number;
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
      /** --warm-up: not ready until synthetic signed images were reviewed (warm-up.ts; the chart's default). */
      warmUp: boolean;
      /** Request-body budget flags given (body-flags.ts); the rest keep their defaults. */
      bodyBudget: BodyBudgetOptions;
      /** Cache flags given (cache-flags.ts); the rest keep their defaults. */
      caches: CacheOptions;
    }
  | {
      command: 'check';
      common: CommonOptions;
      output: 'text' | 'json';
      namespace: string;
      as?: string;
      kubeconfig?: string;
      context?: string;
      images: string[];
    }
  | { command: 'review'; common: CommonOptions; file: string }
  | {
      command: 'audit';
      common: CommonOptions;
      kubeconfig?: string;
      context?: string;
      namespaces: string[];
      output: AuditOutput;
      out?: string;
      /** `--exception NS/NAME|all`: only what these exceptions let through (default: everything). */
      exceptions: string[];
    }
  /** `topic`: `imagegate COMMAND --help` (or `help COMMAND`) prints that command's own usage. */
  | { command: 'help'; topic?: CommandName }
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
  'max-exception-duration': { type: 'string' },
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
  const maxException = str('max-exception-duration');
  const maxExceptionDurationMs =
    maxException === undefined
      ? undefined
      : parseDurationMs(maxException, { units: ['d', 'h', 'm'], compound: true });
  if (maxException !== undefined && (maxExceptionDurationMs === undefined || maxExceptionDurationMs <= 0))
    throw usage(`--max-exception-duration must be a duration like 30d, 7d or 12h (got "${maxException}")`);
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
    ...(maxExceptionDurationMs !== undefined ? { maxExceptionDurationMs } : {}),
  };
}

export function parseCommand(argv: readonly string[]): Command {
  const [name, ...rest] = argv;
  if (name === 'help' && isCommandName(rest[0])) return { command: 'help', topic: rest[0] };
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') return { command: 'help' };
  // `COMMAND --help` prints that command's usage even when the rest of the line is incomplete.
  if (isCommandName(name) && (rest.includes('--help') || rest.includes('-h'))) {
    return { command: 'help', topic: name };
  }
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
        'warm-up': { type: 'boolean' },
        ...BODY_FLAGS,
        ...CACHE_FLAGS,
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
        warmUp: values['warm-up'] === true,
        watchPolicies: values['watch-policies'] === true,
        pullSecrets: values['pull-secrets'] === true,
        bodyBudget: parseBodyFlags(values),
        caches: parseCacheFlags(values),
      };
    }
    case 'check': {
      const { values, positionals } = parse({
        output: { type: 'string' },
        namespace: { type: 'string' },
        as: { type: 'string' },
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
      });
      if (values.help === true) return { command: 'help' };
      if (positionals.length === 0) throw usage('check needs at least one IMAGE');
      const as = values.as as string | undefined;
      const kubeconfig = values.kubeconfig as string | undefined;
      const context = values.context as string | undefined;
      return {
        command: 'check',
        common: commonOf(values),
        output: oneOf('output', values.output as string | undefined, ['text', 'json'] as const) ?? 'text',
        namespace: (values.namespace as string | undefined) ?? 'default',
        ...(as !== undefined ? { as } : {}),
        ...(kubeconfig !== undefined ? { kubeconfig } : {}),
        ...(context !== undefined ? { context } : {}),
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
        exception: { type: 'string', multiple: true },
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
        output: oneOf('output', values.output as string | undefined, AUDIT_OUTPUT_NAMES) ?? 'text',
        ...(out !== undefined ? { out } : {}),
        exceptions: (values.exception as string[] | undefined) ?? [],
      };
    }
    default:
      throw usage(`unknown command "${name}"`);
  }
}
