/**
 * AWS KMS as its JSON 1.1 API answers `TrentService.GetPublicKey` (POST /, X-Amz-Target, body
 * {"KeyId"}), by key id, key ARN, alias name or alias ARN. A request must carry a SigV4
 * Authorization header for the expected access key, region and service `kms`.
 */
import type { TestKeyPair } from './keys.js';
import { StandInServer, json, type Answer, type KmsRequest } from './server.js';

export const AWS_ACCOUNT = '111122223333';

export interface AwsKey {
  pair: TestKeyPair;
  keySpec: string;
  signingAlgorithms: string[];
  keyUsage?: string;
  /** Replaces the served public key bytes (invalid material). */
  publicKeyOverride?: Buffer;
}

export class AwsKmsStandIn extends StandInServer {
  readonly keys = new Map<string, AwsKey>();
  readonly aliases = new Map<string, string>();

  constructor(
    readonly region: string,
    readonly accessKeyId: string,
  ) {
    super();
  }

  arn(keyId: string): string {
    return `arn:aws:kms:${this.region}:${AWS_ACCOUNT}:key/${keyId}`;
  }

  #resolve(id: string): string | undefined {
    const prefix = `arn:aws:kms:${this.region}:${AWS_ACCOUNT}:`;
    const bare = id.startsWith(prefix) ? id.slice(prefix.length).replace(/^key\//, '') : id;
    return bare.startsWith('alias/') ? this.aliases.get(bare) : bare;
  }

  protected answer(req: KmsRequest): Answer {
    const auth = String(req.headers.authorization ?? '');
    const scope = new RegExp(
      `^AWS4-HMAC-SHA256 Credential=${this.accessKeyId}/\\d{8}/${this.region}/kms/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$`,
    );
    if (!scope.test(auth))
      return json(400, {
        __type: 'UnrecognizedClientException',
        message: 'The security token included in the request is invalid.',
      });
    if (req.method !== 'POST' || req.headers['x-amz-target'] !== 'TrentService.GetPublicKey')
      return json(400, { __type: 'UnknownOperationException' });
    const keyId = this.#resolve(String((JSON.parse(req.body) as { KeyId?: unknown }).KeyId));
    const key = keyId === undefined ? undefined : this.keys.get(keyId);
    if (key === undefined) return json(400, { __type: 'NotFoundException', message: 'Key not found' });
    return json(200, {
      KeyId: this.arn(keyId!),
      PublicKey: (key.publicKeyOverride ?? key.pair.spki).toString('base64'),
      KeySpec: key.keySpec,
      CustomerMasterKeySpec: key.keySpec,
      KeyUsage: key.keyUsage ?? 'SIGN_VERIFY',
      SigningAlgorithms: key.signingAlgorithms,
    });
  }
}
