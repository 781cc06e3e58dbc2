/**
 * Usage texts: `imagegate --help` (every command) and `imagegate COMMAND --help` (that command's
 * own synopsis and options, plus the options every command takes).
 */

export type CommandName = 'serve' | 'check' | 'review';

const SYNOPSIS: Record<CommandName, string> = {
  serve:
    'imagegate serve  [--policy PATH]... [--listen HOST:PORT] [--tls-cert F --tls-key F] [--mode enforce|audit]',
  check: 'imagegate check  [--policy PATH]... [--output text|json] [--namespace NAME] IMAGE...',
  review: 'imagegate review [--policy PATH]... FILE|-',
};

const PURPOSE: Record<CommandName, string> = {
  serve: 'Run the admission webhook (/validate, /mutate, /healthz, /readyz, /metrics) over HTTPS.',
  check:
    'Evaluate images as if a pod used them (CI pipelines). IMAGE is a reference, or oci:PATH[:TAG|@DIGEST]\nfor a local OCI layout.',
  review: 'Replay a saved AdmissionReview (FILE, or - for stdin) and print the response review.',
};

const COMMON = `Common options:
  --policy PATH                 ImagePolicy YAML file or directory (repeatable); default: built-in audit policy.
                                A path that holds no ImagePolicy document is an error (exit 2)
  --mode enforce|audit          override every policy's mode (audit: never deny, warn and log)
  --unmatched allow|audit|deny  decision for images no policy governs; default: deny where an enforcing
                                policy applies, allow elsewhere (docs/policy.md, "Unmatched images")
  --registry-config FILE        registry options YAML (credentials, CAs, mirrors, allowlist)
  --insecure-registry HOST[:PORT]  allow plain HTTP to this registry (repeatable)
  --allow-registry HOST[:PORT]  only ever contact these registries (repeatable)
  --trusted-root NAME=FILE      Sigstore trusted_root.json for authorities naming NAME (repeatable)
  --log-level LEVEL             fatal|error|warn|info|debug (default info)
  -h, --help                    this text`;

const OPTIONS: Record<CommandName, string> = {
  serve: `serve options:
  --listen HOST:PORT            default 0.0.0.0:8443 (port 0-65535)
  --tls-cert FILE --tls-key FILE  serving certificate (reloaded on change); default: a generated dev certificate
  --client-ca FILE              require API-server client certificates signed by this CA
  --watch-policies              also load ImagePolicy resources from the cluster (in-cluster config)
  --pull-secrets                authenticate with each pod's imagePullSecrets and its service account's
  --audit-log FILE              write audit records to FILE instead of stdout`,
  check: `check options:
  --output text|json            default text
  --namespace NAME              evaluate as if the pod ran in NAME (default "default")
  --as REF                      match oci:PATH images against policies as REF (the name they will be pushed as)`,
  review: `review takes no options of its own.`,
};

const EXIT = 'Exit codes: 0 allowed, 1 denied, 2 usage or configuration error.';

/** `imagegate --help`: every command. */
export const USAGE = `imagegate: admit Kubernetes pods only when their images pass policy

Usage:
  ${SYNOPSIS.serve}
  ${SYNOPSIS.check}
  ${SYNOPSIS.review}
  imagegate COMMAND --help      that command's options

${COMMON}

${OPTIONS.serve}

${OPTIONS.check}

${EXIT}
`;

/** `imagegate COMMAND --help`: that command's synopsis, purpose and options. */
export function commandUsage(command: CommandName): string {
  return `Usage: ${SYNOPSIS[command]}

${PURPOSE[command]}

${OPTIONS[command]}

${COMMON}

${EXIT}
`;
}
