import type { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespaceLabels } from '../../../src/kube/namespace-labels.js';
import { KubeApiStandIn } from '../../helpers/kube-api.js';

// A recorded GET /api/v1/namespaces/{name} answer, stored in the loopback stand-in for the API server.
const RECORDED = {
  kind: 'Namespace',
  apiVersion: 'v1',
  metadata: {
    name: 'prod-payments',
    uid: '6b7f3c0e-8d8e-4c1b-9d1e-0d8f6c1a2b3c',
    resourceVersion: '4242',
    labels: { 'kubernetes.io/metadata.name': 'prod-payments', env: 'prod' },
  },
  spec: { finalizers: ['kubernetes'] },
  status: { phase: 'Active' },
};

describe('createNamespaceLabels', () => {
  const api = new KubeApiStandIn();
  let kc: KubeConfig;
  const gets = (path: string): number =>
    api.requests.filter((r) => r.method === 'GET' && r.path === path).length;
  beforeAll(async () => {
    await api.start();
    api.put(RECORDED);
    api.answer = (req, res) => {
      if (req.path !== '/api/v1/namespaces/slow') return false;
      setTimeout(() => res.writeHead(200).end('{}'), 3000);
      return true;
    };
    kc = api.kubeConfig();
  });
  afterAll(() => api.close());

  it('reads the labels once and serves them from the cache', async () => {
    const labels = createNamespaceLabels(kc, pino({ level: 'silent' }));
    const signal = AbortSignal.timeout(5000);
    expect(await labels('prod-payments', signal)).toEqual({
      'kubernetes.io/metadata.name': 'prod-payments',
      env: 'prod',
    });
    expect(await labels('prod-payments', signal)).toEqual({
      'kubernetes.io/metadata.name': 'prod-payments',
      env: 'prod',
    });
    expect(gets('/api/v1/namespaces/prod-payments')).toBe(1);
  });

  describe('when the namespace cannot be read', () => {
    it('answers "unknown" (undefined) and does not cache the failure', async () => {
      const labels = createNamespaceLabels(kc, pino({ level: 'silent' }));
      const before = gets('/api/v1/namespaces/missing');
      expect(await labels('missing', AbortSignal.timeout(5000))).toBeUndefined();
      expect(await labels('missing', AbortSignal.timeout(5000))).toBeUndefined();
      expect(gets('/api/v1/namespaces/missing') - before).toBe(2);
    });

    it('gives up at its timeout instead of holding the review', async () => {
      const labels = createNamespaceLabels(kc, pino({ level: 'silent' }), 200);
      const started = Date.now();
      expect(await labels('slow', AbortSignal.timeout(5000))).toBeUndefined();
      expect(Date.now() - started).toBeLessThan(2000);
    });
  });
});
