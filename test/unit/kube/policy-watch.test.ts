import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import {
  POLICY_PATH,
  watchImagePolicies,
  type PolicyVerdict,
  type PolicyWatch,
} from '../../../src/kube/policy-watch.js';
import type { K8sObject } from '../../helpers/k8s.js';
import { KubeApiStandIn, type RecordedRequest } from '../../helpers/kube-api.js';

const FIXTURES = new URL('../../fixtures/k8s/', import.meta.url);
const LIST = JSON.parse(readFileSync(new URL('imagepolicies.list.json', FIXTURES), 'utf8')) as K8sObject;
const EVENTS = readFileSync(new URL('imagepolicies.watch.jsonl', FIXTURES), 'utf8').trim().split('\n');

interface Patch {
  name: string;
  contentType: string | undefined;
  body: K8sObject;
}

/**
 * The ImagePolicy resource scripted on the API stand-in: serves the fixture list, then, per watch
 * request, the next scripted watch session (events written one line at a time, then held open or
 * closed); records status patches. Scripted failures: `listFailures` 500s before the list succeeds,
 * `watchStatus` for the next watch requests.
 */
class PolicyApi {
  readonly api = new KubeApiStandIn();
  readonly patches: Patch[] = [];
  listFailures = 0;
  list: K8sObject = structuredClone(LIST);
  watchSessions: { events: string[]; close: boolean; status?: number }[] = [];
  patchStatus = 200;

  /** `METHOD /path` of every request, `watch rv=N` added for watches. */
  get requests(): string[] {
    return this.api.requests.map(
      (r) => `${r.method} ${r.path}${r.query.watch === 'true' ? ` watch rv=${r.query.resourceVersion}` : ''}`,
    );
  }

  async start(): Promise<KubeConfig> {
    await this.api.start();
    this.api.answer = (req, res) => this.answer(req, res);
    return this.api.kubeConfig();
  }

  close(): Promise<void> {
    return this.api.close();
  }

  private answer(req: RecordedRequest, res: ServerResponse): boolean {
    const watch = req.query.watch === 'true';
    if (req.method === 'GET' && req.path === POLICY_PATH && !watch) {
      if (this.listFailures > 0) {
        this.listFailures -= 1;
        json(res, 500, { kind: 'Status', code: 500, message: 'etcdserver: request timed out' });
      } else json(res, 200, this.list);
      return true;
    }
    if (req.method === 'GET' && req.path === POLICY_PATH && watch) {
      void this.watch(res);
      return true;
    }
    const status = req.path.match(new RegExp(`^${POLICY_PATH}/([^/]+)/status$`));
    if (req.method !== 'PATCH' || status === null) return false;
    this.patches.push({ name: status[1]!, contentType: req.contentType, body: req.body! });
    if (this.patchStatus !== 200) json(res, this.patchStatus, { kind: 'Status', code: this.patchStatus });
    else
      json(res, 200, {
        apiVersion: 'imagegate.dev/v1alpha1',
        kind: 'ImagePolicy',
        metadata: { name: status[1] },
      });
    return true;
  }

  private async watch(res: ServerResponse): Promise<void> {
    const session = this.watchSessions.shift() ?? { events: [], close: false };
    if (session.status !== undefined) {
      return json(res, session.status, { kind: 'Status', code: session.status, reason: 'Expired' });
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders(); // as the API server does: the watch is established before any event
    for (const line of session.events) {
      res.write(`${line}\n`);
      await new Promise((r) => setTimeout(r, 5));
    }
    if (session.close) res.end();
  }
}

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Stand-in for the lead's compile step: rejects documents whose subjectRegExp does not compile. */
function compile(docs: unknown[]): PolicyVerdict {
  const verdict: PolicyVerdict = { accepted: [], rejected: [] };
  for (const doc of docs as K8sObject[]) {
    const name = doc.metadata.name as string;
    const bad = (doc.spec.signature?.authorities ?? []).find((a: K8sObject) => {
      try {
        new RegExp(a.keyless?.subjectRegExp ?? '');
        return false;
      } catch {
        return true;
      }
    });
    if (bad !== undefined)
      verdict.rejected.push({
        name,
        error: 'spec.signature.authorities[0].keyless.subjectRegExp: invalid regular expression',
      });
    else verdict.accepted.push(name);
  }
  return verdict;
}

function recordingLog() {
  const lines: { level: string; msg: string; obj: object }[] = [];
  const at = (level: string) => (obj: object, msg: string) => lines.push({ level, msg, obj });
  return { lines, log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const names = (docs: unknown[]) => (docs as K8sObject[]).map((d) => d.metadata.name as string).sort();

describe('watchImagePolicies', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function setup(
    configure: (api: PolicyApi) => void = () => undefined,
    extra: { resyncMs?: number } = {},
  ) {
    const api = new PolicyApi();
    configure(api);
    const kubeConfig = await api.start();
    const deliveries: unknown[][] = [];
    const { lines, log } = recordingLog();
    const watch: PolicyWatch = watchImagePolicies({
      kubeConfig,
      log,
      onChange: (docs) => {
        deliveries.push(docs);
        return compile(docs);
      },
      backoff: { initialMs: 20, maxMs: 100 },
      debounceMs: 10,
      now: () => new Date('2025-06-02T10:00:00Z'),
      ...extra,
    });
    cleanup.push(() => api.close());
    cleanup.push(() => watch.stop());
    return { api, watch, deliveries, lines };
  }

  describe('on the first list', () => {
    it('hands the raw documents to onChange and becomes ready', async () => {
      const { watch, deliveries } = await setup();
      expect(watch.synced).toBe(false);
      await watch.ready;
      expect(watch.synced).toBe(true);
      expect(names(deliveries[0]!)).toEqual(['broken-regexp', 'small-images']);
      const small = (deliveries[0] as K8sObject[]).find((d) => d.metadata.name === 'small-images')!;
      expect(small.spec).toEqual(LIST.items[0].spec);
    });

    it('writes Accepted/Ready conditions with a merge patch on the status subresource, only where they change', async () => {
      const { api, watch } = await setup();
      await watch.ready;
      await until(() => api.patches.length >= 1, 'a status patch');
      await new Promise((r) => setTimeout(r, 50));
      // broken-regexp already carries the same False conditions: no patch for it.
      expect(api.patches.map((p) => p.name)).toEqual(['small-images']);
      const [patch] = api.patches;
      expect(patch!.contentType).toBe('application/merge-patch+json');
      expect(patch!.body).toEqual({
        status: {
          observedGeneration: 1,
          conditions: [
            {
              type: 'Accepted',
              status: 'True',
              observedGeneration: 1,
              lastTransitionTime: '2025-06-02T10:00:00.000Z',
              reason: 'Compiled',
              message: 'policy compiled',
            },
            {
              type: 'Ready',
              status: 'True',
              observedGeneration: 1,
              lastTransitionTime: '2025-06-02T10:00:00.000Z',
              reason: 'Enforced',
              message: 'policy is in force',
            },
          ],
        },
      });
    });

    it('writes Accepted=False with the compile error on a rejected policy', async () => {
      const { api, watch } = await setup((a) => {
        delete a.list.items[1].status;
      });
      await watch.ready;
      await until(() => api.patches.length >= 2, 'two status patches');
      const broken = api.patches.find((p) => p.name === 'broken-regexp')!;
      expect(broken.body.status.conditions[0]).toMatchObject({
        type: 'Accepted',
        status: 'False',
        reason: 'Invalid',
        message: 'spec.signature.authorities[0].keyless.subjectRegExp: invalid regular expression',
        observedGeneration: 3,
      });
    });

    it('is ready on an empty list', async () => {
      const { watch, deliveries } = await setup((a) => {
        a.list = { ...a.list, items: [] };
      });
      await watch.ready;
      expect(deliveries).toEqual([[]]);
    });
  });

  describe('when the watch streams events', () => {
    it('delivers the set after ADDED, MODIFIED and DELETED, resuming from the list resourceVersion', async () => {
      const { api, watch, deliveries } = await setup((a) => {
        a.watchSessions.push({ events: EVENTS, close: false });
      });
      await watch.ready;
      await until(() => names(deliveries.at(-1)!).join() === 'signed,small-images', 'the final set');
      const last = deliveries.at(-1) as K8sObject[];
      expect(last.find((d) => d.metadata.name === 'small-images')!.spec.size.maxCompressed).toBe('200Mi');
      expect(api.requests).toContain(`GET ${POLICY_PATH} watch rv=48211`);
    });

    it('re-watches from the last resourceVersion when the server closes the stream', async () => {
      const { api, watch } = await setup((a) => {
        a.watchSessions.push({ events: EVENTS.slice(0, 1), close: true });
      });
      await watch.ready;
      await until(() => api.requests.includes(`GET ${POLICY_PATH} watch rv=48230`), 're-watch at rv 48230');
      expect(api.requests.filter((r) => r === `GET ${POLICY_PATH}`)).toHaveLength(1);
    });

    it('re-lists after 410 Gone', async () => {
      const { api, watch } = await setup((a) => {
        a.watchSessions.push({ events: [], close: false, status: 410 });
      });
      await watch.ready;
      await until(() => api.requests.filter((r) => r === `GET ${POLICY_PATH}`).length >= 2, 'a second list');
    });
  });

  describe('when the API server fails', () => {
    it('is not ready until a list succeeds, reconnecting with backoff', async () => {
      const { api, watch, deliveries, lines } = await setup((a) => {
        a.listFailures = 3;
      });
      await watch.ready;
      expect(api.requests.filter((r) => r === `GET ${POLICY_PATH}`)).toHaveLength(4);
      expect(deliveries).toHaveLength(1);
      expect(lines.filter((l) => l.msg.includes('reconnecting'))).toHaveLength(3);
      expect(watch.lastError).toBeUndefined();
    });

    it('reports the last error while it cannot sync', async () => {
      const { watch } = await setup((a) => {
        a.listFailures = 1000;
      });
      await until(() => watch.lastError !== undefined, 'an error');
      expect(watch.synced).toBe(false);
    });

    it('tolerates a 403 on status patches and logs it once', async () => {
      const { api, watch, lines } = await setup((a) => {
        a.patchStatus = 403;
        delete a.list.items[1].status;
      });
      await watch.ready;
      await until(() => api.patches.length >= 2, 'two attempted patches');
      await new Promise((r) => setTimeout(r, 30));
      expect(lines.filter((l) => l.msg.includes('RBAC forbids'))).toHaveLength(1);
      expect(watch.synced).toBe(true);
    });
  });

  describe('resync', () => {
    it('re-delivers the cached set periodically without a new list', async () => {
      const { api, watch, deliveries } = await setup(() => undefined, { resyncMs: 40 });
      await watch.ready;
      await until(() => deliveries.length >= 3, 'two resyncs');
      expect(api.requests.filter((r) => r === `GET ${POLICY_PATH}`)).toHaveLength(1);
    });
  });

  describe('stop', () => {
    it('rejects ready when stopped before the first sync and makes no more requests', async () => {
      const { api, watch } = await setup((a) => {
        a.listFailures = 1000;
      });
      await until(() => api.requests.length >= 1, 'a request');
      await watch.stop();
      await expect(watch.ready).rejects.toThrow(/stopped before the first sync/);
      const seen = api.requests.length;
      await new Promise((r) => setTimeout(r, 150));
      expect(api.requests.length).toBe(seen);
    });
  });
});
