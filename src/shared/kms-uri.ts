/**
 * cosign's key URIs (`signature.authorities[].key.kms`), parsed once at policy load. The forms are
 * cosign's (sigstore/sigstore `pkg/signature/kms/*`), so a reference that works with `cosign verify
 * --key` works here and vice versa.
 */

export type KmsReference =
  /** `awskms://[ENDPOINT]/KEY`: a key id, key ARN, `alias/NAME` or alias ARN; ENDPOINT empty for AWS's own. */
  | { provider: 'aws'; uri: string; endpoint?: string; keyId: string; region?: string }
  /** `gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K[/cryptoKeyVersions/N]`. */
  | { provider: 'gcp'; uri: string; keyName: string; version?: string }
  /** `azurekms://VAULT.vault.azure.net/KEY[/VERSION]`. */
  | { provider: 'azure'; uri: string; vaultHost: string; keyName: string; version?: string }
  /** `hashivault://KEY`: a Vault transit key (VAULT_ADDR, transit mount TRANSIT_SECRET_ENGINE_PATH). */
  | { provider: 'vault'; uri: string; keyName: string }
  /** `k8s://NAMESPACE/NAME`: the Secret's `cosign.pub` (what `cosign generate-key-pair k8s://…` writes). */
  | { provider: 'k8s'; uri: string; namespace: string; name: string };

const UUID = '(?:mrk-)?[A-Fa-f0-9]{8}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{12}';
const ARN = 'arn:(?:aws|aws-us-gov|aws-cn|aws-iso|aws-iso-b):kms:([a-z0-9-]+):\\d{12}:';
const ALIAS = 'alias/[A-Za-z0-9/_-]{1,250}';
const HOST = '([A-Za-z0-9.-]*(?::\\d{1,5})?)/';
const AWS_FORMS: readonly RegExp[] = [
  new RegExp(`^awskms://${HOST}(${UUID})$`),
  new RegExp(`^awskms://${HOST}(${ARN}key/${UUID})$`),
  new RegExp(`^awskms://${HOST}(${ALIAS})$`),
  new RegExp(`^awskms://${HOST}(${ARN}${ALIAS})$`),
];
const SEGMENT = '([A-Za-z0-9_.-]{1,100})';
const GCP = new RegExp(
  `^gcpkms://(projects/${SEGMENT}/locations/${SEGMENT}/keyRings/${SEGMENT}/cryptoKeys/${SEGMENT})(?:/(?:cryptoKeyVersions|versions)/([0-9]{1,10}))?$`,
);
/** A vault's DNS name (public cloud, China, US Gov, Germany and private-link forms alike) and optional port. */
const AZURE =
  /^azurekms:\/\/([A-Za-z0-9.-]{1,253}(?::\d{1,5})?)\/([A-Za-z0-9-]{1,127})(?:\/([A-Za-z0-9]{1,64}))?$/;
const VAULT = /^hashivault:\/\/([A-Za-z0-9_.-]{1,128})$/;
/** DNS-1123 label (namespace) and subdomain (Secret name). */
const K8S = /^k8s:\/\/([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)$/;

export const KMS_SCHEMES = ['awskms://', 'gcpkms://', 'azurekms://', 'hashivault://', 'k8s://'] as const;

/** Throws an Error saying which form was expected when `uri` is none of cosign's. */
export function parseKmsUri(uri: string): KmsReference {
  if (uri.startsWith('awskms://')) {
    for (const form of AWS_FORMS) {
      const m = form.exec(uri);
      if (m === null) continue;
      const [, endpoint, keyId, region] = m;
      return {
        provider: 'aws',
        uri,
        keyId: keyId!,
        ...(endpoint !== undefined && endpoint !== '' ? { endpoint } : {}),
        ...(region !== undefined ? { region } : {}),
      };
    }
    throw new Error(
      `"${uri}" is not an AWS KMS key reference: want awskms:///KEY_ID, awskms:///arn:aws:kms:REGION:ACCOUNT:key/KEY_ID, awskms:///alias/NAME, an alias ARN, or awskms://ENDPOINT/… with one of those`,
    );
  }
  if (uri.startsWith('gcpkms://')) {
    const m = GCP.exec(uri);
    if (m === null)
      throw new Error(
        `"${uri}" is not a Cloud KMS key reference: want gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K[/cryptoKeyVersions/N]`,
      );
    return { provider: 'gcp', uri, keyName: m[1]!, ...(m[6] !== undefined ? { version: m[6] } : {}) };
  }
  if (uri.startsWith('azurekms://')) {
    const m = AZURE.exec(uri);
    if (m === null)
      throw new Error(
        `"${uri}" is not an Azure Key Vault key reference: want azurekms://VAULT.vault.azure.net/KEY`,
      );
    return {
      provider: 'azure',
      uri,
      vaultHost: m[1]!.toLowerCase(),
      keyName: m[2]!,
      ...(m[3] !== undefined ? { version: m[3] } : {}),
    };
  }
  if (uri.startsWith('hashivault://')) {
    const m = VAULT.exec(uri);
    if (m === null)
      throw new Error(`"${uri}" is not a Vault transit key reference: want hashivault://KEY_NAME`);
    return { provider: 'vault', uri, keyName: m[1]! };
  }
  if (uri.startsWith('k8s://')) {
    const m = K8S.exec(uri);
    if (m === null)
      throw new Error(`"${uri}" is not a Kubernetes Secret key reference: want k8s://NAMESPACE/SECRET_NAME`);
    return { provider: 'k8s', uri, namespace: m[1]!, name: m[3]! };
  }
  throw new Error(`"${uri}" names no key service imagegate knows: want one of ${KMS_SCHEMES.join(', ')}`);
}
