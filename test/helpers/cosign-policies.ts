/**
 * The policies of the cosign differential suite, each paired with the `cosign verify` /
 * `cosign verify-attestation` flags that ask the same question. Every policy is scoped to a namespace
 * of its own name, so one policy file serves `imagegate check --namespace NAME` and one `/validate`
 * server (a pod in namespace NAME) for all of them.
 */
import { stringify } from 'yaml';

/** cosign's `--type` short name → the predicate type URI it writes (cosign's own table). */
export const PREDICATES = {
  slsaprovenance1: 'https://slsa.dev/provenance/v1',
  cyclonedx: 'https://cyclonedx.org/bom',
  spdxjson: 'https://spdx.dev/Document',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
} as const;
export type PredicateName = keyof typeof PREDICATES;

/** Small predicates of each kind that cosign's `attest --type` parses. */
export const PREDICATE_BODIES: Record<PredicateName, unknown> = {
  slsaprovenance1: {
    buildDefinition: {
      buildType: 'https://imagegate.dev/oracle/build@v1',
      externalParameters: { repository: 'https://github.com/acme/app' },
    },
    runDetails: { builder: { id: 'https://imagegate.dev/oracle/builder' } },
  },
  cyclonedx: { bomFormat: 'CycloneDX', specVersion: '1.5', version: 1, components: [] },
  spdxjson: {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: 'oracle',
    documentNamespace: 'https://imagegate.dev/oracle/spdx',
    creationInfo: { created: '2026-01-01T00:00:00Z', creators: ['Tool: imagegate-oracle'] },
    packages: [],
  },
  vuln: {
    invocation: { parameters: null, uri: '', event_id: '', 'builder.id': '' },
    scanner: { uri: 'pkg:github/aquasecurity/trivy@0.50.0', version: '0.50.0', result: {} },
    metadata: { scanStartedOn: '2026-01-01T00:00:00Z', scanFinishedOn: '2026-01-01T00:00:01Z' },
  },
};

export interface OracleKeys {
  /** The release key. */
  a: { pub: string; publicPem: string };
  /** A second key: the rotated-to key, or a second signer. */
  b: { pub: string; publicPem: string };
}

export interface OraclePolicy {
  /** Also the namespace the policy is scoped to. */
  name: string;
  /** What it asks, for the matrix. */
  says: string;
  spec(keys: OracleKeys): Record<string, unknown>;
  /** The equivalent cosign verification, without the registry flags and the image. */
  cosign(keys: OracleKeys): string[];
}

const key = (pem: string, name: string) => ({ name, key: { pem } });

function signaturePolicy(k: 'a' | 'b', tlog: 'optional' | 'required'): OraclePolicy {
  return {
    name: tlog === 'required' ? `sig-${k}-tlog` : `sig-${k}`,
    says: `signed by key ${k.toUpperCase()}${tlog === 'required' ? ', log entry required' : ''}`,
    spec: (keys) => ({
      signature: { authorities: [key(keys[k].publicPem, `key-${k}`)], transparencyLog: tlog },
    }),
    cosign: (keys) => [
      'verify',
      '--key',
      keys[k].pub,
      ...(tlog === 'optional' ? ['--insecure-ignore-tlog'] : []),
    ],
  };
}

function attestationPolicy(type: PredicateName, k: 'a' | 'b', short: string): OraclePolicy {
  return {
    name: `att-${short}-${k}`,
    says: `${type} attestation by key ${k.toUpperCase()}`,
    spec: (keys) => ({
      attestations: [
        { name: short, predicateType: PREDICATES[type], authorities: [key(keys[k].publicPem, `key-${k}`)] },
      ],
    }),
    cosign: (keys) => ['verify-attestation', '--key', keys[k].pub, '--insecure-ignore-tlog', '--type', type],
  };
}

export const ORACLE_POLICIES: readonly OraclePolicy[] = [
  signaturePolicy('a', 'optional'),
  signaturePolicy('b', 'optional'),
  signaturePolicy('a', 'required'),
  attestationPolicy('slsaprovenance1', 'a', 'slsa'),
  attestationPolicy('slsaprovenance1', 'b', 'slsa'),
  attestationPolicy('cyclonedx', 'a', 'cdx'),
  attestationPolicy('cyclonedx', 'b', 'cdx'),
  attestationPolicy('spdxjson', 'a', 'spdx'),
  attestationPolicy('vuln', 'a', 'vuln'),
];

export type PolicyName = (typeof ORACLE_POLICIES)[number]['name'];

export function oraclePolicy(name: string): OraclePolicy {
  const p = ORACLE_POLICIES.find((x) => x.name === name);
  if (p === undefined) throw new Error(`no oracle policy ${name}`);
  return p;
}

/** One enforcing ImagePolicy a policy, each for namespace `<prefix>-<policy>` only: a matrix row's policy file. */
export function namespacedPolicyYaml<K>(
  prefix: string,
  policies: readonly { name: string; spec: (keys: K) => Record<string, unknown> }[],
  keys: K,
): string {
  return policies
    .map((p) =>
      stringify({
        apiVersion: 'imagegate.dev/v1alpha1',
        kind: 'ImagePolicy',
        metadata: { name: `${prefix}-${p.name}` },
        spec: {
          mode: 'enforce',
          onError: 'deny',
          images: [{ glob: '**' }],
          namespaces: { include: [`${prefix}-${p.name}`] },
          ...p.spec(keys),
        },
      }),
    )
    .join('---\n');
}

/** The policy file for one cosign version's keys: namespace `<prefix>-<policy>` for each policy. */
export function oraclePolicyYaml(prefix: string, keys: OracleKeys): string {
  return namespacedPolicyYaml(prefix, ORACLE_POLICIES, keys);
}
