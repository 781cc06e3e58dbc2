/**
 * Issue 20, property 6: reuse never crosses a credential boundary. Against a real docker-registry
 * that requires a login: what one namespace read with its pull secret (a manifest by digest, by
 * tag, a config blob; a reused outcome) never answers a request that has no credential for it, and
 * a moved tag is asked again once the tag window (tagTtl, 5 s by default) has passed.
 */
import type { V1Secret, V1ServiceAccount } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateImages, type EvaluationContext } from '../../../src/evaluate/evaluate.js';
import { reusedVerdict } from '../../../src/evaluate/reuse-now.js';
import { createRegistry, type Registry } from '../../../src/registry/client.js';
import { DEFAULT_TAG_TTL_MS } from '../../../src/registry/content-cache.js';
import {
  pullSecretProvider,
  type CredentialProvider,
  type PullSecretSource,
} from '../../../src/registry/credentials/index.js';
import { parseReference } from '../../../src/registry/reference.js';
import { htpasswdLine } from '../../helpers/auth-servers.js';
import { buildEngine, writePolicyFile } from '../../helpers/engine.js';
import { buildImage, pushImage, type BuiltImage } from '../../helpers/image-builder.js';
import { useRegistry } from '../../helpers/use-registry.js';

const signal = (): AbortSignal => AbortSignal.timeout(5_000);
const SIZE_POLICY = [
  'apiVersion: imagegate.dev/v1alpha1',
  'kind: ImagePolicy',
  'metadata: { name: small }',
  'spec:',
  '  mode: enforce',
  '  onError: deny',
  "  images: [{ glob: '**' }]",
  "  size: { maxCompressed: '1Gi' }",
  '',
].join('\n');

function dockerConfigSecret(host: string, username: string, password: string): V1Secret {
  const auth = Buffer.from(`${username}:${password}`).toString('base64');
  const config = JSON.stringify({ auths: { [host]: { auth } } });
  return {
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': Buffer.from(config).toString('base64') },
  };
}

/** The API server's answers for secrets (by `namespace/name`) and default service accounts (none listed). */
class PullSecretsApi implements PullSecretSource {
  reads: string[] = [];
  constructor(readonly secrets: Record<string, V1Secret>) {}
  readNamespacedSecret(p: { name: string; namespace: string }): Promise<V1Secret> {
    this.reads.push(`secret ${p.namespace}/${p.name}`);
    const found = this.secrets[`${p.namespace}/${p.name}`];
    return found !== undefined
      ? Promise.resolve(found)
      : Promise.reject(Object.assign(new Error('not found'), { code: 404 }));
  }
  readNamespacedServiceAccount(p: { name: string; namespace: string }): Promise<V1ServiceAccount> {
    this.reads.push(`serviceaccount ${p.namespace}/${p.name}`);
    return Promise.resolve({});
  }
}

describe('cached registry content and reused outcomes stay behind the credential that read them', () => {
  const reg = useRegistry({ htpasswd: htpasswdLine('team-a', 'pull-only') });
  let img: BuiltImage;
  let client: Registry;
  let secret: CredentialProvider;

  beforeAll(async () => {
    img = buildImage({ steps: [{ createdBy: 'ADD x /', files: { x: 'private' } }] });
    await pushImage(reg.url, 'private/app', '1', img, {
      authorization: `Basic ${Buffer.from('team-a:pull-only').toString('base64')}`,
    });
    secret = {
      name: 'pull-secrets',
      credentialsFor: async () => ({ kind: 'basic', username: 'team-a', password: 'pull-only' }),
    };
    client = createRegistry({ registries: { [reg.host]: { insecure: true } } });
  });
  afterAll(async () => {
    await client?.close();
  });

  it('a manifest and config read with team A’s secret do not answer a request without one', async () => {
    const byTag = parseReference(`${reg.host}/private/app:1`);
    const resolved = await client.access({ credentials: secret }).resolve(byTag, signal());
    expect(resolved.digest).toBe(img.manifest.digest);
    await resolved.platforms(['linux/amd64'], signal()); // config blob cached too

    // by tag (the tag → digest answer is cached), and pinned by digest: both need a login again
    await expect(client.access().resolve(byTag, signal())).rejects.toThrowWithCode('UNAUTHORIZED');
    const byDigest = parseReference(`${reg.host}/private/app@${img.manifest.digest}`);
    await expect(client.access().resolve(byDigest, signal())).rejects.toThrowWithCode('UNAUTHORIZED');
    const config = (resolved.manifest.kind === 'image' ? resolved.manifest.json.config : undefined)!;
    await expect(client.access().getBlob(byDigest, config, 1024 * 1024, signal())).rejects.toThrowWithCode(
      'UNAUTHORIZED',
    );

    // team A itself is still answered (from the cache: no credential lookup changes that)
    const again = await client.access({ credentials: secret }).resolve(byDigest, signal());
    expect(again.digest).toBe(img.manifest.digest);
  });

  it('a reused outcome (pinned digest that passed) is kept per credential', async () => {
    const setup = await buildEngine({
      policy: [await writePolicyFile(SIZE_POLICY)],
      insecureRegistry: [reg.host],
    });
    const image = `${reg.host}/private/app@${img.manifest.digest}`;
    const review = (credentials?: CredentialProvider) =>
      evaluateImages([image], setup.engine.policies(), setup.engine.settings, {
        namespace: credentials ? 'team-a' : 'team-b',
        signal: signal(),
        registry: setup.registry.access(credentials ? { credentials } : {}),
      });
    try {
      const a = await review(secret);
      expect(a.allowed).toBe(true);
      // the second review of team A is a reused outcome: its size finding did not run again
      const aAgain = await review(secret);
      expect(aAgain.allowed).toBe(true);
      expect(aAgain.images[0]?.policies[0]?.findings[0]?.durationMs).toBe(0);
      // team B has no secret: not answered from team A's outcome, and the registry refuses it
      const b = await review();
      expect(b.allowed).toBe(false);
      expect(JSON.stringify(b.images)).toContain('UNAUTHORIZED');
    } finally {
      await setup.registry.close();
    }
  });

  it('a reused outcome answered synchronously through pull secrets stays in its namespace', async () => {
    const setup = await buildEngine({
      policy: [await writePolicyFile(SIZE_POLICY)],
      insecureRegistry: [reg.host],
    });
    // team A's namespace holds the pull secret; team B's has a service account only
    const api = new PullSecretsApi({ 'team-a/pull': dockerConfigSecret(reg.host, 'team-a', 'pull-only') });
    const credentials = pullSecretProvider(api);
    const image = `${reg.host}/private/app@${img.manifest.digest}`;
    const context = (namespace: string): EvaluationContext => ({
      namespace,
      signal: signal(),
      registry: setup.registry.access({ credentials, identity: { namespace, pullSecrets: ['pull'] } }),
    });
    const now = (namespace: string) =>
      reusedVerdict([image], setup.engine.policies(), setup.engine.settings, context(namespace));
    const review = (namespace: string) =>
      evaluateImages([image], setup.engine.policies(), setup.engine.settings, context(namespace));
    try {
      expect(now('team-a')).toBeUndefined(); // nothing read yet: the asynchronous path reads
      expect((await review('team-a')).allowed).toBe(true);
      const reads = api.reads.length;
      const a = now('team-a'); // the next review of team A: from the keyring in memory, no API read
      expect(a?.allowed).toBe(true);
      expect(a?.images[0]?.policies[0]?.findings[0]?.durationMs).toBe(0);
      expect(api.reads).toHaveLength(reads);
      // team B names a secret of the same name, which its namespace does not hold: never team A's answer
      expect(now('team-b')).toBeUndefined();
      const b = await review('team-b');
      expect(b.allowed).toBe(false);
      expect(JSON.stringify(b.images)).toContain('UNAUTHORIZED');
      expect(now('team-b')?.allowed).not.toBe(true); // its keyring read now (empty): still not team A's
    } finally {
      await setup.registry.close();
    }
  });

  it('states a short default tag window', () => {
    expect(DEFAULT_TAG_TTL_MS).toBeLessThanOrEqual(5_000);
  });
});
