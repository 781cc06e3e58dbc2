/**
 * Azure token calls against the loopback stand-ins (test/helpers/cloud/azure.ts): Entra checks the
 * federated assertion and knows only its cloud's resources; the ACR front accepts only Entra tokens
 * for its own audience and answers a refresh token whose `exp` decides when to fetch again.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  acrRefreshToken,
  azureCloudOfAuthority,
  azureCloudOfRegistry,
  entraToken,
  type AzureWorkloadIdentity,
} from '../../../../src/registry/credentials/cloud/azure/token.js';
import type { CloudHttp } from '../../../../src/registry/credentials/cloud/oauth-http.js';
import {
  ARM_AUDIENCE,
  FEDERATION_AUDIENCE,
  startAcrFront,
  startEntraStandIn,
  type AcrFront,
  type EntraStandIn,
} from '../../../helpers/cloud/azure.js';
import { count } from '../../../helpers/cloud/http.js';
import { loopbackOnly, type LoopbackOnly } from '../../../helpers/cloud/loopback.js';

describe('Azure token calls', () => {
  let entra: EntraStandIn;
  let acr: AcrFront;
  let net: LoopbackOnly;
  let dir: string;
  let tokenFile: string;
  const refreshTokens: Record<string, string> = {};
  const http = (): CloudHttp => ({
    dispatcher: net.dispatcher,
    signal: AbortSignal.timeout(10_000),
    timeoutMs: 5000,
  });
  const identity = (over: Partial<AzureWorkloadIdentity> = {}): AzureWorkloadIdentity => ({
    clientId: entra.clientId,
    tenantId: entra.tenantId,
    federatedTokenFile: tokenFile,
    authorityHost: entra.server.url,
    audience: 'https://containerregistry.azure.net',
    ...over,
  });

  beforeAll(async () => {
    entra = await startEntraStandIn();
    acr = await startAcrFront(entra, refreshTokens);
    acr.acrPull.add(entra.clientId);
    net = loopbackOnly();
    dir = await mkdtemp(join(tmpdir(), 'imagegate-azure-'));
    tokenFile = join(dir, 'azure-identity-token');
    await writeFile(tokenFile, entra.cluster.sign({ aud: FEDERATION_AUDIENCE, sub: entra.subject }));
  });
  afterAll(async () => {
    await acr?.stop();
    await entra?.stop();
    await net?.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    entra.server.hits.clear();
    acr.server.hits.clear();
  });

  it('gets an Entra token for the ACR audience and exchanges it for a refresh token', async () => {
    const now = Date.now();
    const t = await entraToken(http(), identity(), now);
    expect(t.expiresAtMs).toBe(now + 3600_000);
    acr.refreshTtlS = 3 * 3600;
    const r = await acrRefreshToken(http(), acr.server.url, acr.server.host, entra.tenantId, t, now);
    expect(refreshTokens[r.token]).toBe(entra.clientId);
    // the refresh token's own exp (3 h), not the Entra token's hour
    expect(Math.abs(r.expiresAtMs - (now + 3 * 3600_000))).toBeLessThan(5000);
    expect(count(acr.server, 'POST /oauth2/exchange')).toBe(1);
  });

  it('is refused by ACR with a token for the ARM audience (the wrong audience)', async () => {
    const arm = await entraToken(http(), identity({ audience: ARM_AUDIENCE }), Date.now());
    await expect(
      acrRefreshToken(http(), acr.server.url, acr.server.host, entra.tenantId, arm, Date.now()),
    ).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE', {
      indeterminate: true,
      message: expect.stringContaining(`audience ${ARM_AUDIENCE} is not accepted`),
    });
  });

  it('is refused by Entra for another cloud’s ACR audience (AADSTS500011)', async () => {
    await expect(
      entraToken(http(), identity({ audience: 'https://containerregistry.azure.cn' }), Date.now()),
    ).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE', {
      message: expect.stringContaining('AADSTS500011'),
    });
  });

  it('is refused by Entra when no federated credential matches the token’s subject', async () => {
    const other = join(dir, 'other-token');
    await writeFile(
      other,
      entra.cluster.sign({ aud: FEDERATION_AUDIENCE, sub: 'system:serviceaccount:apps:evil' }),
    );
    await expect(
      entraToken(http(), identity({ federatedTokenFile: other }), Date.now()),
    ).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE', {
      message: expect.stringMatching(
        /Entra token from 127\.0\.0\.1:\d+: HTTP 400 invalid_client: AADSTS70021/,
      ),
    });
  });

  it('re-reads the federated token file on every fetch (the kubelet rotates it)', async () => {
    const rotating = join(dir, 'rotating');
    await writeFile(rotating, 'not-a-jwt');
    await expect(
      entraToken(http(), identity({ federatedTokenFile: rotating }), Date.now()),
    ).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE');
    await writeFile(rotating, entra.cluster.sign({ aud: FEDERATION_AUDIENCE, sub: entra.subject }));
    await expect(
      entraToken(http(), identity({ federatedTokenFile: rotating }), Date.now()),
    ).resolves.toBeDefined();
  });

  it('knows each cloud by its registry suffix and its authority host', () => {
    expect(azureCloudOfRegistry('team.azurecr.io')).toBe('AzurePublicCloud');
    expect(azureCloudOfRegistry('team.azurecr.cn')).toBe('AzureChinaCloud');
    expect(azureCloudOfRegistry('TEAM.AZURECR.US:443')).toBe('AzureUSGovernment');
    expect(azureCloudOfRegistry('azurecr.io')).toBeUndefined();
    expect(azureCloudOfRegistry('team.azurecr.io.evil.example')).toBeUndefined();
    expect(azureCloudOfAuthority('https://login.chinacloudapi.cn/')).toBe('AzureChinaCloud');
    expect(azureCloudOfAuthority('https://login.microsoftonline.us/')).toBe('AzureUSGovernment');
    expect(azureCloudOfAuthority('https://login.microsoftonline.com/')).toBe('AzurePublicCloud');
    expect(azureCloudOfAuthority('http://127.0.0.1:1/')).toBeUndefined();
  });
});
