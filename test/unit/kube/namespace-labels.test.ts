import type { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespaceLabels } from '../../../src/kube/namespace-labels.js';
import { startKubeStub, type KubeStub } from '../../helpers/kube-stub.js';

// A recorded GET /api/v1/namespaces/{name} answer, served by a loopback stand-in for the API server.
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
  let stub: KubeStub;
  let requests: string[];
  let kc: KubeConfig;
  beforeAll(async () => {
    stub = await startKubeStub((req, res) => {
      if (req.url === '/api/v1/namespaces/prod-payments') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(RECORDED));
        return true;
      }
      if (req.url === '/api/v1/namespaces/slow') {
        setTimeout(() => res.writeHead(200).end('{}'), 3000);
        return true;
      }
      return false;
    });
    ({ kc, requests } = stub);
  });
  afterAll(() => stub.close());

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
    expect(requests.filter((r) => r === 'GET /api/v1/namespaces/prod-payments')).toHaveLength(1);
  });

  describe('when the namespace cannot be read', () => {
    it('answers "unknown" (undefined) and does not cache the failure', async () => {
      const labels = createNamespaceLabels(kc, pino({ level: 'silent' }));
      const before = requests.length;
      expect(await labels('missing', AbortSignal.timeout(5000))).toBeUndefined();
      expect(await labels('missing', AbortSignal.timeout(5000))).toBeUndefined();
      expect(requests.length - before).toBe(2);
    });

    it('gives up at its timeout instead of holding the review', async () => {
      const labels = createNamespaceLabels(kc, pino({ level: 'silent' }), 200);
      const started = Date.now();
      expect(await labels('slow', AbortSignal.timeout(5000))).toBeUndefined();
      expect(Date.now() - started).toBeLessThan(2000);
    });
  });
});
