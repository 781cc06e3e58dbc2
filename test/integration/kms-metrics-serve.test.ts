/**
 * `imagegate serve`'s /metrics for key services (key.kms): public-key fetches, failures and the age of
 * the keys in use per key service, and the Cloud KMS token counted among the cloud tokens (provider
 * gcp-kms), against the loopback stand-ins of Cloud KMS (with its metadata server) and Vault transit.
 * serve fetches every kms key when policies load, so no image is needed.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/program.js';
import { writePolicyFile } from '../helpers/engine.js';
import { makeKeyPair } from '../helpers/kms/keys.js';
import { startKmsWorld, type KmsWorld } from '../helpers/kms/world.js';
import { freePort } from '../helpers/registry.js';

const GCP_KEY = 'projects/p1/locations/global/keyRings/ring/cryptoKeys/metrics';

const policy = (name: string, kms: string): string => `---
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: { name: ${name} }
spec:
  mode: enforce
  images: [{ glob: "registry.example/${name}/**" }]
  signature:
    authorities: [{ name: ${name}, key: { kms: "${kms}" } }]
`;

describe('serve: key service metrics', () => {
  let world: KmsWorld;

  beforeAll(async () => {
    world = await startKmsWorld();
    world.gcp.keys.set(GCP_KEY, [
      { pair: makeKeyPair('ec-p256'), algorithm: 'EC_SIGN_P256_SHA256', state: 'ENABLED' },
    ]);
    world.vault.keys.set('signer', {
      type: 'ecdsa-p256',
      versions: [makeKeyPair('ec-p256')],
      minDecryptionVersion: 1,
    });
  });
  afterAll(() => world?.close());

  it('counts fetches and failures per key service, the keys’ age, and the Cloud KMS token as gcp-kms', async () => {
    const port = await freePort();
    const file = await writePolicyFile(
      [
        policy('gcp', `gcpkms://${GCP_KEY}`),
        policy('vault', 'hashivault://signer'),
        policy('vault-missing', 'hashivault://no-such-key'),
      ].join(''),
    );
    let stop: ((signal: string) => void) | undefined;
    let output = '';
    const io: CliIo = {
      stdout: { write: (s: string) => (output += s) },
      stderr: { write: (s: string) => (output += s) },
      stdin: Readable.from([]),
      env: { ...world.env, IMAGEGATE_DATA_DIR: await mkdtemp(join(tmpdir(), 'imagegate-kms-metrics-')) },
      onStop: (s) => (stop = s),
    };
    const serving = main(['serve', '--listen', `127.0.0.1:${port}`, '--policy', file], io);
    const agent = new Agent({ connect: { rejectUnauthorized: false } });
    const get = async (path: string): Promise<string> =>
      (await request(`https://127.0.0.1:${port}${path}`, { dispatcher: agent })).body.text();
    try {
      for (let i = 0; i < 400 && !output.includes('imagegate is serving'); i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(output).toContain('imagegate is serving');
      // the load-time probe's three fetches (one failing) have been counted once this line shows
      let metrics = '';
      for (
        let i = 0;
        i < 200 && !metrics.includes('imagegate_kms_key_failures_total{provider="hashivault"} 1');
        i++
      ) {
        metrics = await get('/metrics');
        if (!metrics.includes('imagegate_kms_key_failures_total{provider="hashivault"} 1'))
          await new Promise((r) => setTimeout(r, 50));
      }
      expect(metrics).toContain('imagegate_kms_key_fetches_total{provider="gcpkms"} 1');
      expect(metrics).toContain('imagegate_kms_key_fetches_total{provider="hashivault"} 2');
      expect(metrics).toContain('imagegate_kms_key_failures_total{provider="hashivault"} 1');
      expect(metrics).not.toMatch(/imagegate_kms_key_failures_total\{provider="gcpkms"\}/);
      expect(metrics).toMatch(/imagegate_kms_key_age_seconds\{provider="gcpkms"\} \d/);
      expect(metrics).toMatch(/imagegate_kms_key_age_seconds\{provider="hashivault"\} \d/);
      expect(metrics).toContain('imagegate_cloud_token_fetches_total{provider="gcp-kms"} 1');
      expect(metrics).toMatch(/imagegate_cloud_token_age_seconds\{provider="gcp-kms"\} \d/);
      // labels are the four key services and the cloud providers, never a key URI
      expect(metrics).not.toContain('no-such-key');
      expect(metrics).not.toContain(GCP_KEY);
      const ready = JSON.parse(await get('/readyz')) as { degraded?: string[] };
      expect(ready.degraded).toContainEqual(expect.stringContaining('hashivault://no-such-key'));
    } finally {
      stop?.('SIGTERM');
      await serving;
      await agent.close();
    }
  });
});
