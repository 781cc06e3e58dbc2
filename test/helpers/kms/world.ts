/**
 * All four key service stand-ins started together, with the environment imagegate reads to reach them
 * (token files written, endpoints pointed at loopback) and a dispatcher trusting Key Vault's
 * certificate. The AWS SDK reads process.env itself: `stubAwsEnv()` in a beforeEach (vitest unstubs
 * after each test) gives it static keys, the stand-in's endpoint, no shared files and no IMDS.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { vi } from 'vitest';
import { AwsKmsStandIn } from './aws.js';
import { KeyVaultStandIn } from './azure.js';
import { CloudKmsStandIn } from './gcp.js';
import { VaultStandIn } from './vault.js';

export interface KmsWorld {
  aws: AwsKmsStandIn;
  gcp: CloudKmsStandIn;
  azure: KeyVaultStandIn;
  vault: VaultStandIn;
  env: Record<string, string>;
  dispatcher: Agent;
  stubAwsEnv(): void;
  close(): Promise<void>;
}

export async function startKmsWorld(): Promise<KmsWorld> {
  const aws = await new AwsKmsStandIn('eu-west-1', 'AKIDKMSSTANDIN').start();
  const gcp = await new CloudKmsStandIn().start();
  const azure = await new KeyVaultStandIn().start();
  const vault = await new VaultStandIn().start();
  const dir = await mkdtemp(join(tmpdir(), 'imagegate-kms-'));
  await writeFile(join(dir, 'azure-token'), azure.assertion);
  await writeFile(join(dir, 'sa-token'), vault.serviceAccountJwt);
  const dispatcher = new Agent({ connect: { ca: azure.cert!.certPem } });
  return {
    aws,
    gcp,
    azure,
    vault,
    dispatcher,
    env: {
      GCE_METADATA_HOST: gcp.host,
      CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS: `${gcp.url}/`,
      AZURE_CLIENT_ID: azure.clientId,
      AZURE_TENANT_ID: azure.tenant,
      AZURE_FEDERATED_TOKEN_FILE: join(dir, 'azure-token'),
      AZURE_AUTHORITY_HOST: `${azure.url}/`,
      VAULT_ADDR: vault.url,
      VAULT_K8S_ROLE: vault.role,
      VAULT_K8S_TOKEN_FILE: join(dir, 'sa-token'),
    },
    stubAwsEnv() {
      vi.stubEnv('AWS_ACCESS_KEY_ID', aws.accessKeyId);
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
      vi.stubEnv('AWS_REGION', aws.region);
      vi.stubEnv('AWS_ENDPOINT_URL_KMS', aws.url);
      vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent');
      vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent');
      vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
    },
    async close() {
      await Promise.all([aws.close(), gcp.close(), azure.close(), vault.close(), dispatcher.close()]);
    },
  };
}
