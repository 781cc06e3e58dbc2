/** src/kube/events.ts against the API stand-in: names, dedupe across replicas, rate limit, queue. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKubeConfig } from '../../src/kube/config.js';
import { createEventRecorder, VIOLATION_REASON } from '../../src/kube/events.js';
import { KubeApiStandIn } from '../helpers/kube-api.js';

const TARGET = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api', namespace: 'shop', uid: 'u-1' };

describe('createEventRecorder', () => {
  const api = new KubeApiStandIn();
  beforeAll(() => api.start());
  afterAll(() => api.close());
  const kc = () => loadKubeConfig({ file: api.kubeconfigPath })!;

  describe('when two replicas report the same violation', () => {
    it('writes one Event and bumps its count instead of adding another', async () => {
      const a = createEventRecorder(kc(), { instance: 'a' });
      const b = createEventRecorder(kc(), { instance: 'b' });
      expect(a.warn(TARGET, VIOLATION_REASON, 'unsigned')).toBe(true);
      await a.flush();
      expect(b.warn(TARGET, VIOLATION_REASON, 'unsigned')).toBe(true);
      await b.flush();
      const events = api.objects('events', 'shop');
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        type: 'Warning',
        reason: 'ImagePolicyViolation',
        message: 'unsigned',
        count: 2,
        involvedObject: TARGET,
        source: { component: 'imagegate' },
      });
      expect(events[0]!.metadata.name).toMatch(/^api\.imagegate-[0-9a-f]{16}$/);
      const patch = api.requests.find((r) => r.method === 'PATCH' && r.path.includes('/events/'));
      expect(patch?.contentType).toBe('application/merge-patch+json');
    });
  });

  describe('when the same violation repeats within the window', () => {
    it('drops the repeat without a request', async () => {
      let now = 1_000_000;
      const r = createEventRecorder(kc(), { instance: 'c', now: () => now });
      expect(r.warn({ ...TARGET, name: 'web' }, VIOLATION_REASON, 'too big')).toBe(true);
      await r.flush();
      const before = api.requests.length;
      now += 60_000;
      expect(r.warn({ ...TARGET, name: 'web' }, VIOLATION_REASON, 'too big')).toBe(false);
      expect(r.dropped).toBe(1);
      expect(api.requests.length).toBe(before);
      now += 600_000; // after the window it is sent again (and counted on the same Event)
      expect(r.warn({ ...TARGET, name: 'web' }, VIOLATION_REASON, 'too big')).toBe(true);
      await r.flush();
      expect(api.objects('events', 'shop').find((e) => e.involvedObject.name === 'web')?.count).toBe(2);
    });
  });

  describe('when more violations come than the rate allows', () => {
    it('sends the burst and drops the rest, returning at once', async () => {
      const now = 5_000_000;
      const r = createEventRecorder(kc(), { instance: 'd', burst: 3, perSecond: 1, now: () => now });
      const accepted = Array.from({ length: 10 }, (_, i) =>
        r.warn({ ...TARGET, namespace: 'burst', name: `w${i}` }, VIOLATION_REASON, 'x'),
      );
      expect(accepted).toEqual([true, true, true, false, false, false, false, false, false, false]);
      expect(r.dropped).toBe(7);
      await r.flush();
      expect(api.objects('events', 'burst')).toHaveLength(3);
    });
  });

  describe('when the API server refuses', () => {
    it('logs and lets a later occurrence try again', async () => {
      const warnings: string[] = [];
      const r = createEventRecorder(kc(), {
        instance: 'e',
        log: { debug: () => undefined, warn: (_, msg) => void warnings.push(msg) },
      });
      api.faults.push({ path: '/api/v1/namespaces/denied/events', status: 403, times: 1 });
      expect(r.warn({ ...TARGET, namespace: 'denied' }, VIOLATION_REASON, 'x')).toBe(true);
      await r.flush();
      expect(warnings).toEqual([expect.stringMatching(/^cannot write Event: /)]);
      expect(r.warn({ ...TARGET, namespace: 'denied' }, VIOLATION_REASON, 'x')).toBe(true);
      await r.flush();
      expect(api.objects('events', 'denied')).toHaveLength(1);
    });
  });
});
