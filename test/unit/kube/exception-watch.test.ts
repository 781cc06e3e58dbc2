import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  IMAGE_POLICY_EXCEPTIONS,
  NAMESPACED_IMAGE_POLICIES,
  watchImagePolicies,
  type PolicyWatch,
} from '../../../src/kube/policy-watch.js';
import { DEFAULT_MAX_EXCEPTION_MS } from '../../../src/policy/exceptions.js';
import { clusterExceptionHandler, ExceptionStore } from '../../../src/policy/exception-store.js';
import type { K8sObject } from '../../helpers/k8s.js';
import { KubeApiStandIn, type RecordedRequest } from '../../helpers/kube-api.js';
import { silentLog as silent } from '../../helpers/silent-log.js';

const PATH = '/apis/imagegate.dev/v1alpha1/imagepolicyexceptions';

function exception(namespace: string, name: string, spec: Record<string, unknown>): K8sObject {
  return {
    apiVersion: 'imagegate.dev/v1alpha1',
    kind: 'ImagePolicyException',
    metadata: { namespace, name, generation: 1 },
    spec: { images: [{ glob: '**' }], reason: 'vendor fix pending', ...spec },
  };
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('watching ImagePolicyExceptions', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  it('lists them in every namespace and writes Active, Invalid and, at its expiry, Expired on each one’s status', async () => {
    const api = new KubeApiStandIn({
      imagepolicyexceptions: {
        group: 'imagegate.dev',
        version: 'v1alpha1',
        kind: 'ImagePolicyException',
        namespaced: true,
      },
    });
    const held: ServerResponse[] = [];
    api.answer = (req: RecordedRequest, res: ServerResponse) => {
      if (req.path !== PATH || req.query.watch !== 'true') return false;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      held.push(res); // a watch with no events, held open
      return true;
    };
    await api.start();
    cleanup.push(() => api.close());
    cleanup.push(async () => void held.forEach((r) => r.end()));
    const soon = new Date(Math.ceil((Date.now() + 1500) / 1000) * 1000).toISOString();
    const later = new Date(Date.now() + 86_400_000).toISOString();
    api.put(exception('team-a', 'short', { policies: ['strict'], expires: soon }));
    api.put(exception('team-b', 'long', { policies: ['strict'], expires: later }));
    api.put(exception('team-b', 'names-nothing', { policies: ['no-such-policy'], expires: later }));

    const store = new ExceptionStore();
    const watch: PolicyWatch = watchImagePolicies({
      kubeConfig: api.kubeConfig(),
      resource: IMAGE_POLICY_EXCEPTIONS,
      log: silent,
      debounceMs: 10,
      onChange: clusterExceptionHandler(store, {
        now: Date.now,
        maxDurationMs: DEFAULT_MAX_EXCEPTION_MS,
        policyExists: (name) => name === 'strict',
        logger: silent,
      }),
    });
    cleanup.push(() => watch.stop());
    await watch.ready;
    const phaseOf = (ns: string, name: string): string | undefined =>
      (
        api.objects('imagepolicyexceptions', ns).find((o) => o.metadata.name === name)?.status?.conditions as
          { type: string; status: string }[] | undefined
      )?.find((c) => c.status === 'True')?.type;
    await until(() => phaseOf('team-b', 'names-nothing') !== undefined, 'status written');
    expect(phaseOf('team-a', 'short')).toBe('Active');
    expect(phaseOf('team-b', 'long')).toBe('Active');
    expect(phaseOf('team-b', 'names-nothing')).toBe('Invalid');
    const invalid = api
      .objects('imagepolicyexceptions', 'team-b')
      .find((o) => o.metadata.name === 'names-nothing')!.status.conditions as {
      type: string;
      message: string;
    }[];
    expect(invalid.find((c) => c.type === 'Invalid')!.message).toContain('no-such-policy');
    const patches = api.requests.filter((r) => r.method === 'PATCH');
    expect(patches.map((p) => p.path)).toContain(
      `/apis/imagegate.dev/v1alpha1/namespaces/team-a/imagepolicyexceptions/short/status`,
    );

    // No event: the watch delivers again at the expiry it was told of.
    await until(() => phaseOf('team-a', 'short') === 'Expired', 'Expired at the expiry');
    expect(phaseOf('team-b', 'long')).toBe('Active');
  });

  it('treats a kind that is not installed (404) as none, becomes ready, and picks it up once installed', async () => {
    const api = new KubeApiStandIn();
    const held: ServerResponse[] = [];
    api.answer = (req: RecordedRequest, res: ServerResponse) => {
      if (req.query.watch !== 'true' || !req.path.endsWith('/namespacedimagepolicies')) return false;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      held.push(res);
      return true;
    };
    await api.start();
    cleanup.push(() => api.close());
    cleanup.push(async () => void held.forEach((r) => r.end()));
    const deliveries: unknown[][] = [];
    const watch = watchImagePolicies({
      kubeConfig: api.kubeConfig(),
      resource: NAMESPACED_IMAGE_POLICIES,
      absentIsEmpty: true,
      log: silent,
      debounceMs: 10,
      backoff: { initialMs: 20, maxMs: 100 },
      onChange: (docs) => {
        deliveries.push(docs);
        return { accepted: [], rejected: [] };
      },
    });
    cleanup.push(() => watch.stop());
    await watch.ready;
    expect(deliveries).toEqual([[]]);
    expect(watch.lastError).toBeUndefined();
    api.install({
      namespacedimagepolicies: {
        group: 'imagegate.dev',
        version: 'v1alpha1',
        kind: 'NamespacedImagePolicy',
        namespaced: true,
      },
    });
    api.put({
      apiVersion: 'imagegate.dev/v1alpha1',
      kind: 'NamespacedImagePolicy',
      metadata: { namespace: 'team-a', name: 'p' },
      spec: { images: [{ glob: '**' }] },
    });
    await until(() => deliveries.some((d) => d.length === 1), 'the installed kind listed');
  });
});
