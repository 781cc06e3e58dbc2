import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeySecretReader } from '../../../src/kube/key-secrets.js';
import { toConditions } from '../../../src/kube/policy-status.js';
import { KubeApiStandIn } from '../../helpers/kube-api.js';

// A recorded GET /api/v1/namespaces/imagegate/secrets/release-key, stored in the loopback stand-in.
const PEM = '-----BEGIN PUBLIC KEY-----\nMFkw...\n-----END PUBLIC KEY-----\n';
const RECORDED = {
  kind: 'Secret',
  apiVersion: 'v1',
  metadata: { name: 'release-key', namespace: 'imagegate', resourceVersion: '77' },
  type: 'Opaque',
  data: { 'cosign.pub': Buffer.from(PEM).toString('base64') },
};

describe('createKeySecretReader', () => {
  const api = new KubeApiStandIn();
  let kc: KubeConfig;
  beforeAll(async () => {
    await api.start();
    api.put(RECORDED);
    kc = api.kubeConfig();
  });
  afterAll(() => api.close());

  it('decodes the key from the default namespace and reads the Secret once', async () => {
    const reader = createKeySecretReader(kc, 'imagegate');
    const signal = AbortSignal.timeout(5000);
    const reads = (): number => api.requests.filter((r) => r.path.endsWith('/release-key')).length;
    const before = reads(); // the stand-in serves every test of this file
    expect(await reader.read({ name: 'release-key', key: 'cosign.pub' }, signal)).toBe(PEM);
    expect(await reader.read({ name: 'release-key', key: 'cosign.pub' }, signal)).toBe(PEM);
    expect(reads() - before).toBe(1);
  });

  it('fails as indeterminate (onError decides) for a missing key or Secret, naming it', async () => {
    const reader = createKeySecretReader(kc, 'imagegate');
    const signal = AbortSignal.timeout(5000);
    await expect(reader.read({ name: 'release-key', key: 'other' }, signal)).rejects.toMatchObject({
      code: 'SECRET_UNAVAILABLE',
      indeterminate: true,
      message: 'Secret imagegate/release-key has no key "other"',
    });
    await expect(reader.read({ namespace: 'ops', name: 'gone', key: 'k' }, signal)).rejects.toMatchObject({
      code: 'SECRET_UNAVAILABLE',
      message: 'cannot read Secret ops/gone: not found (create it, or fix key.secretRef in the policy)',
    });
  });
});

describe('toConditions for a policy whose key Secret is missing', () => {
  it('is Accepted but not Ready, with the reason KeyUnavailable and the message', () => {
    const conditions = toConditions(
      { metadata: { name: 'p', generation: 3 } },
      { accepted: true, degraded: 'key.secretRef: cannot read Secret imagegate/k: not found' },
      new Date('2026-01-01T00:00:00Z'),
    );
    expect(conditions.map((c) => [c.type, c.status, c.reason, c.message])).toEqual([
      ['Accepted', 'True', 'Compiled', 'policy compiled'],
      ['Ready', 'False', 'KeyUnavailable', 'key.secretRef: cannot read Secret imagegate/k: not found'],
    ]);
  });
});
