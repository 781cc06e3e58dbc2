/**
 * `registries.<host>.address`: imagegate connects to the address, while TLS verifies the registry's
 * own name (SNI and certificate) and credentials follow the registry's name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../../../src/registry/client.js';
import { Keyring } from '../../../src/registry/credentials/index.js';
import { parseReference } from '../../../src/registry/reference.js';
import { htpasswdLine } from '../../helpers/auth-servers.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { buildImage, pushImage, type BuiltImage } from '../../helpers/image-builder.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { makeTlsCert, type TestCert } from '../../helpers/tls.js';

describe('a registry reached at a configured address', () => {
  let cert: TestCert;
  let reg: TestRegistry;
  let proxy: FaultProxy;
  let img: BuiltImage;

  beforeAll(async () => {
    cert = await makeTlsCert(); // names localhost, 127.0.0.1 and ::1
    reg = await startRegistry({ htpasswd: htpasswdLine('dave', 'pw') });
    proxy = await startFaultProxy(reg.url, { tls: cert });
    img = buildImage({ steps: [{ createdBy: 'ADD x /', files: { x: 'address' } }] });
    await pushImage(reg.url, 'app', 'v1', img, {
      authorization: `Basic ${Buffer.from('dave:pw').toString('base64')}`,
    });
  });
  afterAll(async () => {
    await proxy?.stop();
    await reg?.stop();
  });

  const clientFor = (name: string): ReturnType<typeof createRegistry> =>
    createRegistry({
      registries: { [name]: { ca: [cert.certPem], address: proxy.host } },
      credentials: new Keyring([[name, { kind: 'basic', username: 'dave', password: 'pw' }]]),
    });

  it('reads the image at the address, with the credentials of the registry name, over TLS for that name', async () => {
    const client = clientFor('localhost:1');
    const resolved = await client
      .access()
      .resolve(parseReference('localhost:1/app:v1'), AbortSignal.timeout(5000));
    expect(resolved.digest).toBe(img.manifest.digest);
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
