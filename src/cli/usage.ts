/**
 * Usage texts: `imagegate --help` (every command) and `imagegate COMMAND --help` (that command's
 * own synopsis and options, plus the options every command takes).
 */
import { AUDIT_OUTPUT_NAMES } from '../report/formats.js';

const AUDIT_OUTPUT = AUDIT_OUTPUT_NAMES.join('|');

export type CommandName = 'serve' | 'check' | 'review' | 'audit';

const SYNOPSIS: Record<CommandName, string> = {
  serve:
    'imagegate serve  [--policy PATH]... [--listen HOST:PORT] [--tls-cert F --tls-key F] [--mode enforce|audit]',
  check:
    'imagegate check  [--policy PATH]... [--output text|json] [--namespace NAME] [--kubeconfig FILE] IMAGE...',
  review: 'imagegate review [--policy PATH]... FILE|-',
  audit: `imagegate audit  [--policy PATH]... [--kubeconfig FILE] [--context NAME] [--namespace NS]...\n                   [--output ${AUDIT_OUTPUT}] [--out FILE]`,
};

const PURPOSE: Record<CommandName, string> = {
  serve: 'Run the admission webhook (/validate, /mutate, /healthz, /readyz, /metrics) over HTTPS.',
  check:
    'Evaluate images as if a pod used them (CI pipelines). IMAGE is a reference, or oci:PATH[:TAG|@DIGEST]\nfor a local OCI layout.',
  review: 'Replay a saved AdmissionReview (FILE, or - for stdin) and print the response review.',
  audit: 'Audit what already runs in the cluster against the policies (see docs/audit.md).',
};

const COMMON = `Common options:
  --policy PATH                 ImagePolicy (and ImagePolicyException) YAML file or directory (repeatable);
                                default: built-in audit policy.
                                A path that holds no ImagePolicy document is an error (exit 2)
  --mode enforce|audit          override every policy's mode (audit: never deny, warn and log)
  --unmatched allow|audit|deny  decision for images no policy governs; default: deny where an enforcing
                                policy applies, allow elsewhere (docs/policy.md, "Unmatched images")
  --registry-config FILE        registry options YAML (credentials, CAs, mirrors, allowlist)
  --insecure-registry HOST[:PORT]  allow plain HTTP to this registry (repeatable)
  --allow-registry HOST[:PORT]  only ever contact these registries (repeatable)
  --allow-auth-host HOST[:PORT]  with an allowlist: a token service registries may name (repeatable)
  --trusted-root NAME=FILE      Sigstore trusted_root.json for authorities naming NAME (repeatable)
  --log-level LEVEL             fatal|error|warn|info|debug (default info)
  --max-exception-duration D    how far ahead an ImagePolicyException may expire (default 30d; docs/exceptions.md)
  -h, --help                    this text`;

const OPTIONS: Record<CommandName, string> = {
  serve: `serve options:
  --listen HOST:PORT            default 0.0.0.0:8443 (port 0-65535)
  --tls-cert FILE --tls-key FILE  serving certificate (reloaded on change); default: a generated dev certificate
  --client-ca FILE              /validate and /mutate require client certificates signed by this CA
                                (probes and /metrics do not)
  --watch-policies              also load ImagePolicy resources from the cluster
  --kubeconfig FILE             Kubernetes client configuration (default: $KUBECONFIG, else in-cluster)
  --context NAME                context of that configuration (default: its current-context)
  --background-audit DURATION   re-audit what runs every DURATION (e.g. 1h; jittered) and write reports
  --reports policyreports|openreports  report kind for --background-audit (default policyreports)
  --events                      Warning Events on enforce-mode denials (background audit: always)
  --warm-up                     not ready until a few synthetic signed images were reviewed and their
                                signatures verified until optimised, ≤ 10 s (first pods faster)
  --pull-secrets                authenticate with each pod's imagePullSecrets and its service account's
                                (callers without a --client-ca certificate get verdicts only)
  --audit-log FILE              write audit records to FILE instead of stdout
  request bodies (docs/security.md, "Server and control-side limits"):
  --max-request-bodies N        bodies being received or held by a review at once (default 256)
  --max-request-body-bytes SIZE  their bytes together (default 24Mi)
  --max-request-bodies-per-address N  bodies one address without a verified client certificate may be
                                sending at once (default 32)
  --max-request-body-bytes-per-address SIZE  their bytes (default 8Mi)
  --request-body-timeout DURATION  a whole body must arrive within (default 10s)
  --request-body-first-byte-timeout DURATION  its first byte within (default 2s)
  --request-body-min-rate SIZE  bytes per second a body must keep arriving at (default 16Ki; 0: none)
  caches (docs/operations.md, "Memory"):
  --attestation-cache-bytes SIZE  verified attestation statements kept across reviews (default 16Mi;
                                0: none); one image's over a quarter of SIZE is not kept
  --kms-key-refresh DURATION    key.kms public keys are fetched again after DURATION (1m-24h, default 1h);
                                verdicts resting on a key are kept no longer (docs/signatures.md)`,
  check: `check options:
  --output text|json            default text
  --namespace NAME              evaluate as if the pod ran in NAME (default "default")
  --as REF                      match oci:PATH images against policies as REF (the name they will be pushed as)
  --kubeconfig FILE --context NAME  where policies' key.secretRef Secrets are read (default $KUBECONFIG,
                                ~/.kube/config); a Secret that cannot be read is a configuration error (exit 2)`,
  review: `review takes no options of its own.`,
  audit: `audit options:
  --kubeconfig FILE --context NAME  as for serve
  --namespace NS                only these namespaces (repeatable; default all)
  --output ${AUDIT_OUTPUT.padEnd(20)} default text (progress on stderr)
  --out FILE                    write the report to FILE instead of stdout
  --exception NS/NAME|all       only containers an ImagePolicyException let through (repeatable)`,
};

const EXIT = `Exit codes: 0 allowed (audit: nothing would be denied), 1 denied (audit: something would be),
2 usage or configuration error.`;

/** `imagegate --help`: every command. */
export const USAGE = `imagegate: admit Kubernetes pods only when their images pass policy

Usage:
  ${SYNOPSIS.serve}
  ${SYNOPSIS.check}
  ${SYNOPSIS.review}
  ${SYNOPSIS.audit}
  imagegate COMMAND --help      that command's options

${COMMON}

${OPTIONS.serve}

${OPTIONS.check}

${OPTIONS.audit}

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
