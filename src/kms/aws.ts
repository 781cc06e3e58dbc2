/**
 * AWS KMS `GetPublicKey` through the AWS SDK: credentials from the SDK's default chain (environment,
 * IRSA web identity, EKS Pod Identity, IMDSv2), the endpoint from the URI (`awskms://ENDPOINT/…`),
 * else the SDK's own (AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL), the region from a key ARN, else the
 * SDK's (AWS_REGION). An asymmetric AWS key has one key material, so one public key; how it signs
 * comes from its SigningAlgorithms. IAM: kms:GetPublicKey on the key.
 */
import { GetPublicKeyCommand, KMSClient, type SigningAlgorithmSpec } from '@aws-sdk/client-kms';
import type { PublicKeyVersion } from '../checks/signature/index.js';
import { SignatureError, errorMessage } from '../errors.js';
import type { KmsReference } from '../shared/kms-uri.js';
import { toKeyVersions, type Hash, type KeyUse } from './key-material.js';

type AwsReference = Extract<KmsReference, { provider: 'aws' }>;

/** AWS signing algorithm names → how signatures are made; SM2 and unknown names: undefined. */
export function awsKeyUse(algorithm: string): KeyUse | undefined {
  const rsa = /^RSASSA_(PSS|PKCS1_V1_5)_SHA_(256|384|512)$/.exec(algorithm);
  if (rsa !== null) return { padding: rsa[1] === 'PSS' ? 'pss' : 'pkcs1', hash: `sha${rsa[2]}` as Hash };
  const ec = /^ECDSA_SHA_(256|384|512)$/.exec(algorithm);
  if (ec !== null) return { hash: `sha${ec[1]}` as Hash };
  return undefined;
}

/** One SDK client per (endpoint, region): each holds its credential provider and connections. */
export class AwsKms {
  readonly #clients = new Map<string, KMSClient>();

  #client(ref: AwsReference): KMSClient {
    const id = `${ref.endpoint ?? ''}|${ref.region ?? ''}`;
    let client = this.#clients.get(id);
    if (client === undefined) {
      client = new KMSClient({
        ...(ref.region !== undefined ? { region: ref.region } : {}),
        ...(ref.endpoint !== undefined ? { endpoint: `https://${ref.endpoint}` } : {}),
        maxAttempts: 2,
      });
      this.#clients.set(id, client);
    }
    return client;
  }

  async keys(ref: AwsReference, signal: AbortSignal): Promise<PublicKeyVersion[]> {
    let answer;
    try {
      answer = await this.#client(ref).send(new GetPublicKeyCommand({ KeyId: ref.keyId }), {
        abortSignal: signal,
      });
    } catch (err) {
      const name = (err as { name?: unknown } | null)?.name;
      const hint =
        name === 'AccessDeniedException'
          ? ": imagegate's role needs kms:GetPublicKey on the key"
          : name === 'NotFoundException'
            ? ': no such key in this account and region'
            : name === 'DisabledException'
              ? ': the key is disabled'
              : '';
      const code =
        name === 'DisabledException' || name === 'KMSInvalidStateException'
          ? 'KEY_INVALID'
          : 'KMS_UNAVAILABLE';
      throw new SignatureError(code, `${ref.uri}: GetPublicKey failed: ${errorMessage(err)}${hint}`, {
        indeterminate: code === 'KMS_UNAVAILABLE',
      });
    }
    if (answer.KeyUsage !== 'SIGN_VERIFY') {
      throw new SignatureError(
        'KEY_INVALID',
        `${ref.uri}: key usage is ${answer.KeyUsage ?? '(none)'}, not SIGN_VERIFY`,
      );
    }
    if (answer.PublicKey === undefined)
      throw new SignatureError('KEY_INVALID', `${ref.uri}: the answer has no PublicKey`);
    const uses = (answer.SigningAlgorithms ?? [])
      .map((a: SigningAlgorithmSpec) => awsKeyUse(a))
      .filter((u): u is KeyUse => u !== undefined);
    return toKeyVersions({ der: answer.PublicKey }, uses, ref.uri);
  }

  destroy(): void {
    for (const c of this.#clients.values()) c.destroy();
    this.#clients.clear();
  }
}
