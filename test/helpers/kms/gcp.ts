/**
 * Google Cloud KMS REST v1 (`cryptoKeyVersions.list` with its state filter, `getPublicKey`) and the
 * GCE metadata server's token endpoint, on one loopback server: GCE_METADATA_HOST and
 * CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS both point here. Cloud KMS calls need the token it issued.
 */
import type { TestKeyPair } from './keys.js';
import { StandInServer, json, type Answer, type KmsRequest } from './server.js';

export interface GcpVersion {
  pair: TestKeyPair;
  algorithm: string;
  state: 'ENABLED' | 'DISABLED' | 'DESTROYED';
  pemOverride?: string;
}

export class CloudKmsStandIn extends StandInServer {
  /** Versions by key name (`projects/…/cryptoKeys/K`), numbered from 1. */
  readonly keys = new Map<string, GcpVersion[]>();
  readonly token = 'gcp-access-token-1';
  /** Cloud KMS's IAM check of a bearer token; default: only the metadata server's own token. */
  acceptToken: (token: string) => boolean = (t) => t === this.token;

  protected answer(req: KmsRequest): Answer {
    const [path = '', query = ''] = req.url.split('?');
    if (path === '/computeMetadata/v1/instance/service-accounts/default/token') {
      if (req.headers['metadata-flavor'] !== 'Google') return json(403, { error: 'Missing Metadata-Flavor' });
      return json(200, { access_token: this.token, expires_in: 3599, token_type: 'Bearer' });
    }
    if (!this.acceptToken(String(req.headers.authorization).replace(/^Bearer /, '')))
      return json(401, { error: { code: 401, status: 'UNAUTHENTICATED' } });
    const list = /^\/v1\/(projects\/.+\/cryptoKeys\/[^/]+)\/cryptoKeyVersions$/.exec(path);
    if (list !== null) {
      const versions = this.keys.get(list[1]!);
      if (versions === undefined) return json(404, { error: { code: 404, status: 'NOT_FOUND' } });
      const filter = new URLSearchParams(query).get('filter');
      const all = versions.map((v, i) => ({
        name: `${list[1]}/cryptoKeyVersions/${i + 1}`,
        state: v.state,
        algorithm: v.algorithm,
      }));
      const shown = filter === 'state=ENABLED' ? all.filter((v) => v.state === 'ENABLED') : all;
      return json(200, { cryptoKeyVersions: shown, totalSize: shown.length });
    }
    const get = /^\/v1\/(projects\/.+\/cryptoKeys\/[^/]+)\/cryptoKeyVersions\/(\d+)\/publicKey$/.exec(path);
    const version = get === null ? undefined : this.keys.get(get[1]!)?.[Number(get[2]) - 1];
    if (version === undefined) return json(404, { error: { code: 404, status: 'NOT_FOUND' } });
    if (version.state !== 'ENABLED')
      return json(400, { error: { code: 400, status: 'FAILED_PRECONDITION' } });
    return json(200, {
      name: `${get![1]}/cryptoKeyVersions/${get![2]}`,
      algorithm: version.algorithm,
      pem: version.pemOverride ?? version.pair.publicPem,
      protectionLevel: 'SOFTWARE',
    });
  }
}
