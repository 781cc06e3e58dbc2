/**
 * Issue 26 goal 3's floor on the bench's registry: bare undici making the requests a cold key-signed
 * (legacy `.sig`) pod costs imagegate, in the same dependency order and nothing else: per image, the
 * manifest, the `.sig` tag and the referrers fallback tag (`sha256-<hex>`, a 404) at once, then the
 * `.sig`'s payload blob. What the registry and the network alone make a pod of N images wait.
 */
import { request } from 'undici';

const ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json';

/** Milliseconds for all `images` (`host/repo@sha256:…`, the registry at `origin`) through `dispatcher`. */
export async function barePod(origin, images, dispatcher) {
  const get = async (path) => {
    const res = await request(`${origin}${path}`, { dispatcher, headers: { accept: ACCEPT } });
    return res.body.text();
  };
  const started = performance.now();
  await Promise.all(
    images.map(async (ref) => {
      const at = ref.indexOf('/');
      const [name, digest] = ref.slice(at + 1).split('@');
      const tag = digest.replace(':', '-');
      const signature = async () => {
        const manifest = JSON.parse(await get(`/v2/${name}/manifests/${tag}.sig`));
        await get(`/v2/${name}/blobs/${manifest.layers[0].digest}`);
      };
      await Promise.all([
        get(`/v2/${name}/manifests/${digest}`),
        signature(),
        get(`/v2/${name}/manifests/${tag}`),
      ]);
    }),
  );
  return performance.now() - started;
}
