/**
 * ImagePolicy objects through the real API server: the CRD's schema refuses invalid ones with a
 * message naming the field, and an edit takes effect for the next admission (serve watches them).
 */
import { describe, expect, it } from 'vitest';
import { useEnforcingChart } from '../helpers/cluster-suite.js';
import { podManifest } from '../helpers/cluster-images.js';
import { eventually, getJson, kubectl, NO_CLUSTER } from '../helpers/kube-cluster.js';

const RELEASE = 'igpol';
const NS = 'imagegate-policies';
const APPS = 'apps-policies';

function policy(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'imagegate.dev/v1alpha1',
    kind: 'ImagePolicy',
    metadata: { name },
    spec,
  });
}

describe.skipIf(NO_CLUSTER)('ImagePolicy resources in the real API server', () => {
  const world = useEnforcingChart({ release: RELEASE, namespace: NS, apps: APPS });

  it.each([
    [{ images: [{ glob: '**' }], size: { maxCompressed: '100MB' } }, 'spec.size.maxCompressed'],
    [{ images: [{ glob: '**' }], mode: 'block' }, 'spec.mode'],
    [{ images: [{ glob: '**' }], sise: {} }, 'spec.sise'],
  ])('refuses %j with a message naming %s', async (spec, field) => {
    const name = `invalid-${field.replaceAll('.', '-').toLowerCase()}`;
    const r = await kubectl(['create', '-f', '-'], policy(name, spec));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(field);
    expect((await kubectl(['get', 'imagepolicy', name])).status).toBe(1);
  });

  it('applies an edit to the next admission', async () => {
    const dryRun = () =>
      kubectl(['create', '--dry-run=server', '-f', '-'], podManifest('edit-probe', APPS, world.images.big));
    expect((await dryRun()).status).toBe(1);
    // Raise the enforcing policy's limit above the big image's size.
    const current = await getJson(['get', 'imagepolicy', 'size-enforce']);
    current.spec.size.maxCompressed = '1Mi';
    const edited = Date.now();
    const r = await kubectl(['replace', '-f', '-'], JSON.stringify(current));
    expect(r.status, r.stderr).toBe(0);
    await eventually('the edit to reach admission', async () =>
      (await dryRun()).status === 0 ? true : undefined,
    );
    // How soon, for docs/testing.md (a figure, not a pass/fail threshold).
    console.info(`[imagegate tests] ImagePolicy edit → admission: ${Date.now() - edited} ms`);
  });

  it('serve never made an API call its ServiceAccount is not allowed to make', async () => {
    expect(await world.serve.forbidden()).toEqual([]);
  });
});
