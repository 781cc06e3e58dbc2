/**
 * The real registry (docker-registry, token auth) behind the ACR front (test/helpers/cloud/azure.ts):
 * its realm is the front's `/oauth2/token`, which honours the refresh tokens `/oauth2/exchange` hands
 * out for Entra tokens of the ACR audience. One image is pushed to `team/app:v1` directly.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchToken, startTokenServer, type TokenServer } from '../auth-servers.js';
import { buildImage, pushImage, type BuiltImage } from '../image-builder.js';
import { startRegistry, type TestRegistry } from '../registry.js';
import {
  FEDERATION_AUDIENCE,
  startAcrFront,
  startEntraStandIn,
  type AcrFront,
  type EntraStandIn,
} from './azure.js';

export interface AzureRegistryRig {
  entra: EntraStandIn;
  acr: AcrFront;
  tokens: TokenServer;
  reg: TestRegistry;
  img: BuiltImage;
  dir: string;
  /** The projected token AZURE_FEDERATED_TOKEN_FILE names (subject system:serviceaccount:imagegate:imagegate). */
  federatedTokenFile: string;
  /** The workload identity environment the AKS webhook would inject, pointing at the stand-ins. */
  env: Record<string, string | undefined>;
  stop(): Promise<void>;
}

/** `acrAudience`: the audience this cloud's Entra and the registry know (a sovereign cloud's for its tests). */
export async function startAzureRegistryRig(
  acrAudience = 'https://containerregistry.azure.net',
): Promise<AzureRegistryRig> {
  const dir = await mkdtemp(join(tmpdir(), 'imagegate-azure-rig-'));
  const entra = await startEntraStandIn(acrAudience);
  const refreshTokens: Record<string, string> = {};
  const acr = await startAcrFront(entra, refreshTokens, acrAudience);
  acr.acrPull.add(entra.clientId);
  const tokens = await startTokenServer({ dir, users: { pusher: 'push-secret' }, refreshTokens });
  const reg = await startRegistry({ token: { ...tokens, realm: acr.realm } });
  acr.connect(reg.host, tokens.realm);
  const img = buildImage({ steps: [{ createdBy: 'ADD x /', files: { x: 'acr' } }] });
  const push = await fetchToken(tokens, 'team/app', 'pusher', 'push-secret');
  await pushImage(reg.url, 'team/app', 'v1', img, { authorization: `Bearer ${push}` });
  const federatedTokenFile = join(dir, 'azure-identity-token');
  await writeFile(
    federatedTokenFile,
    entra.cluster.sign({ aud: FEDERATION_AUDIENCE, sub: entra.subject }, 86_400),
  );
  return {
    entra,
    acr,
    tokens,
    reg,
    img,
    dir,
    federatedTokenFile,
    env: {
      AZURE_CLIENT_ID: entra.clientId,
      AZURE_TENANT_ID: entra.tenantId,
      AZURE_FEDERATED_TOKEN_FILE: federatedTokenFile,
      AZURE_AUTHORITY_HOST: `${entra.server.url}/`,
      GOOGLE_APPLICATION_CREDENTIALS: undefined,
      GCE_METADATA_HOST: undefined,
    },
    async stop() {
      await acr.stop();
      await reg.stop();
      await tokens.stop();
      await entra.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
