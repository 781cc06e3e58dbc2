/**
 * Google token calls against the loopback stand-ins (test/helpers/cloud/google.ts), each speaking the
 * documented API and checking what Google checks: the metadata header, the pool audience and the
 * subject token's signature, the impersonation grant, the key's signature and assertion audience.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  externalAccountToken,
  loadGoogleCredentials,
  metadataEmail,
  metadataToken,
  serviceAccountToken,
  type ExternalAccount,
  type ServiceAccountKey,
} from '../../../../src/registry/credentials/cloud/gcp/token.js';
import type { CloudHttp } from '../../../../src/registry/credentials/cloud/oauth-http.js';
import {
  externalAccountFile,
  startGoogleStandIn,
  type GoogleStandIn,
} from '../../../helpers/cloud/google.js';
import { count, json, startStandIn, type StandIn } from '../../../helpers/cloud/http.js';
import { jwtIssuer } from '../../../helpers/cloud/jwt.js';
import { loopbackOnly, type LoopbackOnly } from '../../../helpers/cloud/loopback.js';

describe('Google token calls', () => {
  let g: GoogleStandIn;
  let net: LoopbackOnly;
  let dir: string;
  let ksaToken: string;
  const http = (signal = AbortSignal.timeout(10_000), timeoutMs = 5000): CloudHttp => ({
    dispatcher: net.dispatcher,
    signal,
    timeoutMs,
  });

  beforeAll(async () => {
    g = await startGoogleStandIn();
    net = loopbackOnly();
    dir = await mkdtemp(join(tmpdir(), 'imagegate-gcp-'));
    ksaToken = join(dir, 'ksa-token');
    await writeFile(
      ksaToken,
      g.cluster.sign({ aud: g.poolAudience, sub: 'system:serviceaccount:imagegate:imagegate' }),
    );
  });
  afterAll(async () => {
    await g?.stop();
    await net?.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    g.server.hits.clear();
    g.server.down = undefined;
  });

  describe('the metadata server', () => {
    it('answers the default service account token and email', async () => {
      const now = Date.now();
      const t = await metadataToken(http(), g.server.host, now);
      expect(g.tokens.get(t.token)?.principal).toBe(g.metadataEmail);
      expect(t.expiresAtMs).toBe(now + 3600_000);
      expect(await metadataEmail(http(), g.server.host)).toBe(g.metadataEmail);
    });

    it('is CREDENTIALS_UNAVAILABLE, naming the host and status, when it fails', async () => {
      g.server.down = 503;
      await expect(metadataToken(http(), g.server.host, Date.now())).rejects.toThrowWithCode(
        'CREDENTIALS_UNAVAILABLE',
        {
          indeterminate: true,
          message: expect.stringContaining(`metadata server ${g.server.host}: HTTP 503`),
        },
      );
    });
  });

  describe('a service account key', () => {
    it('signs a JWT the token endpoint accepts', async () => {
      const key = g.serviceAccountKey as unknown as ServiceAccountKey;
      const t = await serviceAccountToken(http(), key, Date.now());
      expect(g.tokens.get(t.token)?.principal).toBe(key.client_email);
    });

    it('is refused when signed with another key, with the service error in the message', async () => {
      const key = {
        ...(g.serviceAccountKey as unknown as ServiceAccountKey),
        private_key: jwtIssuer('x').privateKeyPem,
      };
      await expect(serviceAccountToken(http(), key, Date.now())).rejects.toThrowWithCode(
        'CREDENTIALS_UNAVAILABLE',
        {
          message: expect.stringContaining('invalid_grant: Invalid JWT: bad signature'),
        },
      );
    });

    it('never sends the assertion to a token_uri outside googleapis.com', async () => {
      const key = {
        ...(g.serviceAccountKey as unknown as ServiceAccountKey),
        token_uri: 'https://evil.example/token',
      };
      await expect(serviceAccountToken(http(), key, Date.now())).rejects.toThrowWithCode(
        'CREDENTIALS_UNAVAILABLE',
        {
          message: expect.stringContaining('evil.example is not a Google endpoint'),
        },
      );
      expect(net.refused).toEqual([]);
    });
  });

  describe('workload identity federation (external_account)', () => {
    const creds = (impersonate?: string): ExternalAccount =>
      externalAccountFile(g, ksaToken, impersonate) as unknown as ExternalAccount;

    it('trades the subject token at STS for a federated token of the principal', async () => {
      const t = await externalAccountToken(http(), creds(), Date.now());
      expect(g.tokens.get(t.token)?.principal).toBe(
        g.principalOf('system:serviceaccount:imagegate:imagegate'),
      );
      expect(count(g.server, 'POST /v1/token')).toBe(1);
    });

    it('then impersonates the service account the principal may act as', async () => {
      const sa = 'reader@proj.iam.gserviceaccount.com';
      g.impersonators.set(sa, new Set([g.principalOf('system:serviceaccount:imagegate:imagegate')]));
      const now = Date.now();
      const t = await externalAccountToken(http(), creds(sa), now);
      expect(g.tokens.get(t.token)?.principal).toBe(sa);
      expect(Math.abs(t.expiresAtMs - (now + 3600_000))).toBeLessThan(5000);
    });

    it('is refused when the principal may not impersonate, naming the service account', async () => {
      await expect(
        externalAccountToken(http(), creds('other@proj.iam.gserviceaccount.com'), Date.now()),
      ).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE', {
        message: expect.stringMatching(
          /impersonation of other@proj.*403.*iam.serviceAccounts.getAccessToken/,
        ),
      });
    });

    it('is refused by STS for another pool audience', async () => {
      const wrong = {
        ...creds(),
        audience: '//iam.googleapis.com/projects/9/locations/global/workloadIdentityPools/x/providers/y',
      };
      await expect(externalAccountToken(http(), wrong, Date.now())).rejects.toThrowWithCode(
        'CREDENTIALS_UNAVAILABLE',
        {
          message: expect.stringContaining('invalid_target'),
        },
      );
    });

    it('names the subject token file when it is missing', async () => {
      const missing = { ...creds(), credential_source: { file: join(dir, 'nope') } };
      await expect(externalAccountToken(http(), missing, Date.now())).rejects.toThrowWithCode(
        'CREDENTIALS_UNAVAILABLE',
        {
          message: expect.stringContaining(join(dir, 'nope')),
        },
      );
      expect(count(g.server, 'POST /v1/token')).toBe(0);
    });
  });

  describe('the credentials file', () => {
    it('reads external_account and service_account files and refuses other types by name', async () => {
      const f = join(dir, 'creds.json');
      await writeFile(f, JSON.stringify(externalAccountFile(g, ksaToken)));
      expect((await loadGoogleCredentials(f)).type).toBe('external_account');
      await writeFile(f, JSON.stringify(g.serviceAccountKey));
      expect((await loadGoogleCredentials(f)).type).toBe('service_account');
      await writeFile(f, JSON.stringify({ type: 'authorized_user', refresh_token: 'r' }));
      await expect(loadGoogleCredentials(f)).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE', {
        message: expect.stringContaining('of type "authorized_user"'),
      });
    });
  });

  describe('bounds', () => {
    let hostile: StandIn;
    let hang: StandIn;
    beforeAll(async () => {
      hostile = await startStandIn((_req, _body, res) =>
        json(res, 200, { access_token: 'x'.repeat(200_000) }),
      );
      hang = await startStandIn(() => new Promise<void>(() => undefined));
    });
    afterAll(async () => {
      await hostile?.stop();
      await hang?.stop();
    });

    it('refuses an answer past 64 KiB', async () => {
      await expect(metadataToken(http(), hostile.host, Date.now())).rejects.toThrowWithCode(
        'CREDENTIALS_UNAVAILABLE',
        {
          message: expect.stringContaining('larger than 65536 bytes'),
        },
      );
    });

    it('gives up at its own timeout (CREDENTIALS_UNAVAILABLE) and at the caller’s deadline (TIMEOUT)', async () => {
      await expect(
        metadataToken(http(AbortSignal.timeout(10_000), 200), hang.host, Date.now()),
      ).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE', {
        message: expect.stringContaining('no answer in time'),
      });
      const caller = new AbortController();
      const p = metadataToken(http(caller.signal, 10_000), hang.host, Date.now());
      setTimeout(() => caller.abort(), 50);
      await expect(p).rejects.toThrowWithCode('TIMEOUT');
    });
  });
});
