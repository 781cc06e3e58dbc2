/**
 * The real registry (docker-registry, token auth) behind a Google-style token service: it takes
 * `oauth2accesstoken:<access token>` and admits principals with roles/artifactregistry.reader, as
 * Artifact Registry does. One image is pushed to `team/app:v1` (by a separate push account).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchToken, startTokenServer, type TokenServer } from '../auth-servers.js';
import { buildImage, pushImage, type BuiltImage } from '../image-builder.js';
import { startRegistry, type TestRegistry } from '../registry.js';
import { startGoogleStandIn, type GoogleStandIn } from './google.js';

export interface GoogleRegistryRig {
  g: GoogleStandIn;
  tokens: TokenServer;
  reg: TestRegistry;
  img: BuiltImage;
  /** A temp dir for credential files. */
  dir: string;
  /** The cluster's projected token for system:serviceaccount:imagegate:imagegate, in `dir`. */
  ksaTokenFile: string;
  stop(): Promise<void>;
}

export async function startGoogleRegistryRig(): Promise<GoogleRegistryRig> {
  const dir = await mkdtemp(join(tmpdir(), 'imagegate-gcp-rig-'));
  const g = await startGoogleStandIn();
  const tokens = await startTokenServer({
    dir,
    users: { pusher: 'push-secret' },
    authenticate: (user, password) => g.verifyRegistryLogin(user, password) !== false,
  });
  const reg = await startRegistry({ token: tokens });
  const img = buildImage({ steps: [{ createdBy: 'ADD x /', files: { x: 'gcp' } }] });
  const push = await fetchToken(tokens, 'team/app', 'pusher', 'push-secret');
  await pushImage(reg.url, 'team/app', 'v1', img, { authorization: `Bearer ${push}` });
  const ksaTokenFile = join(dir, 'ksa-token');
  await writeFile(
    ksaTokenFile,
    g.cluster.sign({ aud: g.poolAudience, sub: 'system:serviceaccount:imagegate:imagegate' }),
  );
  return {
    g,
    tokens,
    reg,
    img,
    dir,
    ksaTokenFile,
    async stop() {
      await reg.stop();
      await tokens.stop();
      await g.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
