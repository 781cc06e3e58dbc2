/**
 * The images the cluster suites admit and deny: a real registry on loopback with a small image
 * (a few KiB) and a big one (about 300 KiB of incompressible bytes) under two repositories, and the
 * chart values of two size policies (at most 256 KiB): `enforce/**` in enforce mode, `audit/**` in
 * audit mode. The denial is a size check, so no signing material is involved.
 */
import { buildImage, pushImage } from './image-builder.js';
import { startRegistry, type TestRegistry } from './registry.js';

export interface ClusterImages {
  registry: TestRegistry;
  /** REGISTRY/enforce/app:small — passes. */
  small: string;
  /** REGISTRY/enforce/app:big — denied (size) in enforce mode. */
  big: string;
  /** REGISTRY/audit/app:big — would be denied; its policy audits. */
  auditBig: string;
  /** helm arguments: registry.insecure and the two policies. */
  values: string[];
  stop(): Promise<void>;
}

export const SIZE_LIMIT = '256Ki';

export async function startClusterImages(): Promise<ClusterImages> {
  const registry = await startRegistry();
  const small = buildImage({ steps: [{ createdBy: 'small', randomBytes: 2048 }] });
  const big = buildImage({ steps: [{ createdBy: 'big', randomBytes: 300 * 1024 }] });
  await pushImage(registry.url, 'enforce/app', 'small', small);
  await pushImage(registry.url, 'enforce/app', 'big', big);
  await pushImage(registry.url, 'audit/app', 'big', big);
  const policy = (mode: string, repo: string) => ({
    mode,
    images: [{ glob: `${registry.host}/${repo}/**` }],
    size: { maxCompressed: SIZE_LIMIT },
  });
  const policies = { 'size-enforce': policy('enforce', 'enforce'), 'size-audit': policy('audit', 'audit') };
  return {
    registry,
    small: `${registry.host}/enforce/app:small`,
    big: `${registry.host}/enforce/app:big`,
    auditBig: `${registry.host}/audit/app:big`,
    values: [
      '--set-json',
      `registry.insecure=${JSON.stringify([registry.host])}`,
      '--set-json',
      `policies.items=${JSON.stringify(policies)}`,
    ],
    stop: () => registry.stop(),
  };
}

/** A bare Pod manifest (JSON, for `kubectl create -f -`). */
export function podManifest(name: string, namespace: string, image: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace },
    spec: { containers: [{ name: 'app', image }] },
  });
}
