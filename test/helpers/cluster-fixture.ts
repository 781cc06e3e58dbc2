/**
 * One small cluster for the audit tests: the Kubernetes API stand-in (./kube-api.ts) loaded with
 * test/fixtures/k8s/cluster/*.json, whose images live in a real `docker-registry` on loopback —
 * signed with a test key or not, one of them heavy — and a policy file: `signed` (enforce, the test
 * key, not in kube-system) and `small` (audit, 256 KiB, namespaces labelled tier=infra).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { writePolicyFile } from './engine.js';
import { buildImage, pushImage } from './image-builder.js';
import type { K8sObject } from './k8s.js';
import { KubeApiStandIn, type ResourceType } from './kube-api.js';
import { RegistrySeeder } from './registry-seeder.js';
import { startRegistry, type TestRegistry } from './registry.js';
import { keyPolicyYaml, pushSignedImage, signDigest, signingKey, type SigningKey } from './signed-images.js';

const DIR = new URL('../fixtures/k8s/cluster/', import.meta.url);

export interface TestCluster {
  api: KubeApiStandIn;
  registry: TestRegistry;
  key: SigningKey;
  policyFile: string;
  /** Common CLI flags: --policy, --insecure-registry. */
  flags: string[];
  digests: Record<string, string>;
  stop(): Promise<void>;
}

/** The fixture lists with REGISTRY replaced by the registry's host:port. */
export function clusterFixtures(host: string): K8sObject[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(new URL(f, DIR), 'utf8').replaceAll('REGISTRY', host)) as K8sObject);
}

export async function startTestCluster(extraTypes: Record<string, ResourceType> = {}): Promise<TestCluster> {
  const registry = await startRegistry();
  const seeder = new RegistrySeeder(registry);
  const key = signingKey();
  const host = registry.host;
  const digests: Record<string, string> = {};
  for (const repo of ['shop/web', 'infra/agent'])
    digests[repo] = await pushSignedImage(seeder, host, repo, key, 'v1');
  for (const [repo, tag] of [
    ['shop/api', 'v1'],
    ['shop/debug', 'latest'],
    ['batch/report', 'v1'],
    ['batch/cleanup', 'v1'],
    ['infra/legacy', 'v1'],
    ['kube-system/coredns', 'v1.11.1'],
  ] as const)
    digests[repo] = await pushSignedImage(seeder, host, repo, undefined, tag);
  const heavy = buildImage({
    steps: [
      { createdBy: 'ADD rootfs.tar.gz / # buildkit', randomBytes: 20_000 },
      { createdBy: 'RUN /bin/sh -c apt-get install -y postgresql # buildkit', randomBytes: 300_000 },
    ],
  });
  await pushImage(registry.url, 'infra/db', 'v1', heavy);
  digests['infra/db'] = heavy.manifest.digest;
  await signDigest(seeder, host, 'infra/db', heavy.manifest.digest, key);

  const signed = keyPolicyYaml(key, { name: 'signed' }).replace(
    '  images:\n',
    '  namespaces:\n    exclude: [kube-system]\n  images:\n',
  );
  const small = [
    '---',
    'apiVersion: imagegate.dev/v1alpha1',
    'kind: ImagePolicy',
    'metadata:',
    '  name: small',
    'spec:',
    '  mode: audit',
    '  namespaces:',
    '    matchLabels: { tier: infra }',
    '  images:',
    "    - glob: '**'",
    '  size:',
    '    maxCompressed: 256Ki',
    '',
  ].join('\n');
  const policyFile = await writePolicyFile(`${signed}${small}`);

  const api = new KubeApiStandIn(extraTypes);
  await api.start();
  for (const list of clusterFixtures(host)) api.load(list);
  return {
    api,
    registry,
    key,
    policyFile,
    flags: ['--policy', policyFile, '--insecure-registry', host],
    digests,
    async stop() {
      await api.close();
      await registry.stop();
    },
  };
}
