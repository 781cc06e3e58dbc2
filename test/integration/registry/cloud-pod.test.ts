/**
 * A pod cannot point a cloud provider elsewhere: through the real HTTPS webhook, a pod whose
 * containers set GCE_METADATA_HOST / GOOGLE_APPLICATION_CREDENTIALS / AZURE_AUTHORITY_HOST, whose
 * annotations name another Google service account and whose images include an attacker's registry,
 * is reviewed with imagegate's own identity from imagegate's own environment and config, and the
 * attacker's endpoints receive nothing.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { setupEngine } from '../../../src/cli/setup.js';
import { podReview } from '../../helpers/admission-fixtures.js';
import { startTokenServer } from '../../helpers/auth-servers.js';
import { startGoogleStandIn } from '../../helpers/cloud/google.js';
import { startGoogleRegistryRig } from '../../helpers/cloud/google-registry.js';
import { count } from '../../helpers/cloud/http.js';
import { commonOptions } from '../../helpers/engine.js';
import { startRegistry } from '../../helpers/registry.js';
import { startServer } from '../../helpers/server.js';
import { keyPolicyYaml, signingKey } from '../../helpers/signed-images.js';
import { useSuiteValue } from '../../helpers/suite-value.js';

const TOKEN_PATH = 'GET /computeMetadata/v1/instance/service-accounts/default/token';

describe('a pod and the cloud providers', () => {
  const rig = useSuiteValue(
    async () => {
      const r = await startGoogleRegistryRig();
      r.g.readers.add(r.g.metadataEmail);
      return r;
    },
    (r) => r.stop(),
    60_000,
  );
  /** The attacker's metadata server, and its token server and registry that anyone may pull from. */
  const evil = useSuiteValue(
    async () => {
      const metadata = await startGoogleStandIn();
      const tokens = await startTokenServer({ dir: rig.dir, users: {}, anonymousPull: true });
      return { metadata, tokens, registry: await startRegistry({ token: tokens }) };
    },
    async ({ metadata, tokens, registry }) => {
      await registry.stop();
      await tokens.stop();
      await metadata.stop();
    },
  );
  const served = useSuiteValue(
    async () => {
      const policy = join(rig.dir, 'policy.yaml');
      await writeFile(policy, keyPolicyYaml(signingKey(), { onError: 'deny' }));
      const config = join(rig.dir, 'registry.yaml');
      await writeFile(config, `cloud:\n  gcp:\n    hosts: ['${rig.reg.host}']\n`);
      const setup = await setupEngine(
        commonOptions({
          policy: [policy],
          registryConfig: config,
          insecureRegistry: [rig.reg.host, evil.registry.host],
        }),
        pino({ level: 'silent' }),
        { env: { GCE_METADATA_HOST: rig.g.server.host } },
      );
      return { setup, server: await startServer({ engine: setup.engine }) };
    },
    async ({ server, setup }) => {
      await server.close();
      await setup.registry.close();
    },
    60_000,
  );

  it('reviews with imagegate’s identity and sends the attacker nothing', async () => {
    const review = podReview([
      `${rig.reg.host}/team/app@${rig.img.manifest.digest}`,
      `${evil.registry.host}/team/app:v1`,
    ]);
    const pod = review.request.object as {
      metadata: Record<string, unknown>;
      spec: { serviceAccountName?: string; containers: Array<Record<string, unknown>> };
    };
    pod.metadata.annotations = { 'iam.gke.io/gcp-service-account': 'evil@attacker.iam.gserviceaccount.com' };
    pod.spec.serviceAccountName = 'evil';
    for (const c of pod.spec.containers)
      c.env = [
        { name: 'GCE_METADATA_HOST', value: evil.metadata.server.host },
        { name: 'GOOGLE_APPLICATION_CREDENTIALS', value: '/var/run/evil.json' },
        { name: 'AZURE_AUTHORITY_HOST', value: evil.metadata.server.url },
      ];
    const reply = await served.server.post('/validate', review);
    const response = (reply.json as { response: { allowed: boolean } }).response;
    expect(response.allowed).toBe(false);
    const record = served.server.audit.at(-1)!;
    const codes = record.images.map((i) => i.policies.flatMap((p) => p.checks.map((c) => c.code)));
    // the Google registry was read with imagegate's token (no signature there: a real answer),
    // the attacker's anonymously (nothing of it signed either)
    expect(codes).toEqual([['NO_SIGNATURES'], expect.not.arrayContaining(['CREDENTIALS_UNAVAILABLE'])]);
    expect(count(rig.g.server, TOKEN_PATH)).toBe(1);
    expect(evil.metadata.server.hits.size).toBe(0);
    expect(evil.tokens.requests.length).toBeGreaterThan(0);
    expect(evil.tokens.requests.every((r) => r.account === null)).toBe(true);
  });
});
