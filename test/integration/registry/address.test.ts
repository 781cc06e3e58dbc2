/**
 * `registries.<host>.address`: imagegate connects to the address, while TLS verifies the registry's
 * own name (SNI and certificate) and credentials follow the registry's name.
 */
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../../src/registry/client.js';
import { Keyring } from '../../../src/registry/credentials/index.js';
import { parseReference } from '../../../src/registry/reference.js';
import { htpasswdLine } from '../../helpers/auth-servers.js';
import { startFaultProxy } from '../../helpers/fault-proxy.js';
import { buildImage, pushImage } from '../../helpers/image-builder.js';
import { startRegistry } from '../../helpers/registry.js';
import { makeTlsCert } from '../../helpers/tls.js';
import { useSuiteValue } from '../../helpers/suite-value.js';

describe('a registry reached at a configured address', () => {
  /** Behind a TLS proxy whose certificate names localhost, 127.0.0.1 and ::1: a registry with app:v1 for dave. */
  const site = useSuiteValue(
    async () => {
      const cert = await makeTlsCert();
      const reg = await startRegistry({ htpasswd: htpasswdLine('dave', 'pw') });
      const proxy = await startFaultProxy(reg.url, { tls: cert });
      const img = buildImage({ steps: [{ createdBy: 'ADD x /', files: { x: 'address' } }] });
      await pushImage(reg.url, 'app', 'v1', img, {
        authorization: `Basic ${Buffer.from('dave:pw').toString('base64')}`,
      });
      return { cert, reg, proxy, img };
    },
    async ({ proxy, reg }) => {
      await proxy.stop();
      await reg.stop();
    },
  );

  const clientFor = (name: string): ReturnType<typeof createRegistry> =>
    createRegistry({
      registries: { [name]: { ca: [site.cert.certPem], address: site.proxy.host } },
      credentials: new Keyring([[name, { kind: 'basic', username: 'dave', password: 'pw' }]]),
    });

  it('reads the image at the address, with the credentials of the registry name, over TLS for that name', async () => {
    const client = clientFor('localhost:1');
    const resolved = await client
      .access()
      .resolve(parseReference('localhost:1/app:v1'), AbortSignal.timeout(5000));
    expect(resolved.digest).toBe(site.img.manifest.digest);
    await client.close();
  });

  it('refuses the address when its certificate does not name the registry', async () => {
    const client = clientFor('registry.example:1');
    await expect(
      client.access().resolve(parseReference('registry.example:1/app:v1'), AbortSignal.timeout(5000)),
    ).rejects.toThrowWithCode('REGISTRY_UNAVAILABLE', {
      message: expect.stringMatching(/altnames|certificate/i) as unknown,
    });
    await client.close();
  });
});
