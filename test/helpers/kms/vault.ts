/**
 * HashiCorp Vault: transit `GET /v1/transit/keys/NAME` (every version's public key, with
 * min_decryption_version) and Kubernetes auth login (`POST /v1/auth/kubernetes/login`). Transit reads
 * need X-Vault-Token: the root token or one the login issued.
 */
import type { TestKeyPair } from './keys.js';
import { StandInServer, json, type Answer, type KmsRequest } from './server.js';

export interface VaultKey {
  type: string;
  versions: TestKeyPair[];
  minDecryptionVersion: number;
}

export class VaultStandIn extends StandInServer {
  readonly keys = new Map<string, VaultKey>();
  rootToken = 'vault-root-token';
  loginToken = 'vault-k8s-login-token';
  role = 'imagegate';
  serviceAccountJwt = 'sa-jwt';

  protected answer(req: KmsRequest): Answer {
    if (req.method === 'POST' && req.url === '/v1/auth/kubernetes/login') {
      const { role, jwt } = JSON.parse(req.body) as { role?: string; jwt?: string };
      if (role !== this.role || jwt !== this.serviceAccountJwt)
        return json(403, { errors: ['permission denied'] });
      return json(200, { auth: { client_token: this.loginToken, lease_duration: 3600, renewable: true } });
    }
    const token = req.headers['x-vault-token'];
    if (token !== this.rootToken && token !== this.loginToken)
      return json(403, { errors: ['permission denied'] });
    const m = /^\/v1\/transit\/keys\/([^/?]+)$/.exec(req.url);
    const key = m === null ? undefined : this.keys.get(m[1]!);
    if (key === undefined) return json(404, { errors: [] });
    const keys = Object.fromEntries(
      key.versions.map((pair, i) => [
        String(i + 1),
        { public_key: pair.publicPem, name: 'P-256', creation_time: '2026-01-01T00:00:00Z' },
      ]),
    );
    return json(200, {
      data: {
        name: m![1],
        type: key.type,
        keys,
        latest_version: key.versions.length,
        min_decryption_version: key.minDecryptionVersion,
        min_available_version: 0,
        supports_signing: true,
      },
    });
  }
}
