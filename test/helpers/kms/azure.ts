/**
 * Azure Key Vault REST (api-version 7.4: key versions, a version's JWK) and the Entra ID token
 * endpoint for workload identity, on one loopback HTTPS server (Key Vault is HTTPS only). A token is
 * issued only for the Key Vault scope and a client assertion equal to the projected token's content.
 */
import type { TestKeyPair } from './keys.js';
import { StandInServer, json, type Answer, type KmsRequest } from './server.js';

export interface AzureVersion {
  id: string;
  pair: TestKeyPair;
  enabled: boolean;
}

export class KeyVaultStandIn extends StandInServer {
  readonly keys = new Map<string, AzureVersion[]>();
  readonly token = 'azure-vault-token-1';
  tenant = 'tenant-1';
  clientId = 'client-1';
  assertion = 'projected-sa-token';
  /** The listing's nextLink (Key Vault pages with it); default none. */
  nextLink: string | null = null;
  /** Scopes token requests asked for. */
  readonly scopes: string[] = [];

  constructor() {
    super(true);
  }

  protected answer(req: KmsRequest): Answer {
    const [path = '', query = ''] = req.url.split('?');
    if (req.method === 'POST' && path === `/${this.tenant}/oauth2/v2.0/token`) {
      const form = new URLSearchParams(req.body);
      this.scopes.push(form.get('scope') ?? '');
      if (form.get('client_id') !== this.clientId || form.get('client_assertion') !== this.assertion)
        return json(401, { error: 'invalid_client' });
      if (form.get('scope') !== 'https://vault.azure.net/.default')
        return json(400, { error: 'invalid_scope' });
      return json(200, { access_token: this.token, expires_in: 3600, token_type: 'Bearer' });
    }
    if (new URLSearchParams(query).get('api-version') !== '7.4')
      return json(400, { error: { code: 'BadParameter' } });
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return json(401, { error: { code: 'Unauthorized' } });
    const m = /^\/keys\/([^/]+)(?:\/([^/]+))?$/.exec(path);
    const versions = m === null ? undefined : this.keys.get(m[1]!);
    if (versions === undefined) return json(404, { error: { code: 'KeyNotFound' } });
    const kid = (v: AzureVersion) => `${this.url}/keys/${m![1]}/${v.id}`;
    if (m![2] === 'versions') {
      return json(200, {
        value: versions.map((v) => ({ kid: kid(v), attributes: { enabled: v.enabled } })),
        nextLink: this.nextLink,
      });
    }
    const v = versions.find((x) => x.id === m![2]);
    if (v === undefined) return json(404, { error: { code: 'KeyNotFound' } });
    const jwk = v.pair.publicKey.export({ format: 'jwk' });
    const kty = jwk.kty === 'EC' ? 'EC-HSM' : 'RSA-HSM';
    return json(200, {
      key: { ...jwk, kty, kid: kid(v), key_ops: ['sign', 'verify'] },
      attributes: { enabled: v.enabled },
    });
  }
}
