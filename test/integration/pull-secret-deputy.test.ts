/**
 * The confused deputy of issue 20 (property 4), end to end: with pull secrets in use, a direct caller
 * (no client certificate) posts a review in the victim's namespace naming the victim's pull secret,
 * for a private image. imagegate reads it with that secret (the verdict needs it), but the answer
 * carries only the verdict: not the digest or the size it learnt. The audit record has them.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupEngine, type Setup } from '../../src/cli/setup.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import { createKubeAccess } from '../../src/kube/index.js';
import { podReview } from '../helpers/admission-fixtures.js';
import { htpasswdLine } from '../helpers/auth-servers.js';
import { commonOptions, writePolicyFile } from '../helpers/engine.js';
import { buildImage, pushImage, type BuiltImage } from '../helpers/image-builder.js';
import { KubeApiStandIn } from '../helpers/kube-api.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { policyYaml } from '../helpers/policy-documents.js';

const AUTH = Buffer.from('victim:s3cret').toString('base64');

describe('pull secrets and a direct caller', () => {
  let reg: TestRegistry;
  let img: BuiltImage;
  let api: KubeApiStandIn;
  let setup: Setup;
  let image: string;

  beforeAll(async () => {
    reg = await startRegistry({ htpasswd: htpasswdLine('victim', 's3cret') });
    img = buildImage({ steps: [{ createdBy: 'ADD secret-step /', files: { x: 'private' } }] });
    await pushImage(reg.url, 'victim/app', '1', img, { authorization: `Basic ${AUTH}` });
    image = `${reg.host}/victim/app:1`;
    api = new KubeApiStandIn();
    await api.start();
    const dockerconfig = JSON.stringify({ auths: { [reg.host]: { auth: AUTH } } });
    api.put({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'regcred', namespace: 'victim' },
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': Buffer.from(dockerconfig).toString('base64') },
    });
    api.put({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'victim' } });
    const policy = await writePolicyFile(
      policyYaml('small', {
        mode: 'enforce',
        images: [{ glob: `${reg.host}/**` }],
        size: { maxCompressed: '10' },
      }),
    );
    const kc = loadKubeConfig({ file: api.kubeconfigPath })!;
    setup = await setupEngine(
      commonOptions({ policy: [policy], insecureRegistry: [reg.host] }),
      pino({ level: 'silent' }),
      { pullSecrets: true, kube: createKubeAccess(kc, pino({ level: 'silent' })) },
    );
  }, 60_000);
  afterAll(async () => {
    await setup?.registry.close();
    await api?.close();
    await reg?.stop();
  });

  const attack = () => {
    const body = podReview([image], { namespace: 'victim' });
    (body.request.object as { spec: Record<string, unknown> }).spec.imagePullSecrets = [{ name: 'regcred' }];
    return body;
  };

  async function answer(withhold: boolean): Promise<{ text: string; server: TestServer }> {
    const server = await startServer({
      engine: setup.engine,
      callerAuth: { withholdFromUnauthenticated: withhold },
    });
    const reply = await server.post('/validate', attack());
    expect(reply.status).toBe(200);
    return { text: reply.text, server };
  }

  it('without the rule, the answer leaks the private image digest (the finding)', async () => {
    const { text, server } = await answer(false);
    await server.close();
    expect(text).toContain(img.manifest.digest);
  });

  it('with pull secrets in use, the unauthenticated caller gets the verdict only; the audit record has the details', async () => {
    const { text, server } = await answer(true);
    try {
      const review = JSON.parse(text) as { response: { allowed: boolean; status?: { message?: string } } };
      expect(review.response.allowed).toBe(false);
      expect(text).not.toContain(img.manifest.digest);
      expect(text).not.toContain('secret-step');
      expect(text).not.toMatch(/\d+ bytes|compressed/i);
      expect(JSON.stringify(server.audit.at(-1))).toContain(img.manifest.digest);
    } finally {
      await server.close();
    }
  });
});
