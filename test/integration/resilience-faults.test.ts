/**
 * Faults across the whole webhook path (registry → fault proxy → imagegate → HTTPS answer): the
 * registry down, a reset in the middle of a body, 500, 429 with Retry-After, wrong bytes and a huge
 * body. Each review gets the decision its policy asks for, nothing crashes or leaks, and once the
 * registry is healthy the same images are allowed (no failure was cached).
 *
 * Slow TUF is not exercised here: trust material is loaded at start-up and refreshed every 6 hours off
 * the request path (and key authorities need none), so a slow TUF mirror cannot delay a review.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fault } from '../helpers/fault-proxy.js';
import { podReview } from '../helpers/admission-fixtures.js';
import { freePort } from '../helpers/registry.js';
import { startWebhookRig, type WebhookRig } from '../helpers/webhook-rig.js';

interface Case {
  name: string;
  /** Fault on the proxy; undefined: the image lives on a port where nothing listens. */
  fault?: { match: RegExp; fault: Fault };
  /** Finding code expected in the message. */
  code: RegExp;
  /** The check completed and found the content wrong: denied whatever onError says. */
  determinate?: boolean;
}

const MANIFEST = /^GET \/v2\/.+\/manifests\/sha256:/;
const CASES: Case[] = [
  { name: 'the registry is down', code: /REGISTRY_UNAVAILABLE/ },
  {
    name: 'the connection resets in the middle of the manifest',
    fault: { match: MANIFEST, fault: { kind: 'resetMidBody' } },
    code: /REGISTRY_UNAVAILABLE|REGISTRY_ERROR|TIMEOUT/,
  },
  {
    name: 'the registry answers 500',
    fault: { match: /./, fault: { kind: 'status', status: 500 } },
    code: /REGISTRY_ERROR|REGISTRY_UNAVAILABLE/,
  },
  {
    name: 'the registry answers 429 with Retry-After',
    fault: { match: /./, fault: { kind: 'status', status: 429, headers: { 'retry-after': '1' } } },
    code: /RATE_LIMITED/,
  },
  {
    name: 'the manifest bytes do not match the digest',
    fault: { match: MANIFEST, fault: { kind: 'wrongBytes' } },
    code: /DIGEST_MISMATCH/,
    determinate: true,
  },
  {
    name: 'the manifest body is huge',
    fault: { match: MANIFEST, fault: { kind: 'oversize', bytes: 32 * 1024 * 1024 } },
    code: /RESPONSE_TOO_LARGE/,
    // Like wrong bytes, an answer over the size cap is the registry misbehaving, not being unavailable.
    determinate: true,
  },
];

type Response = { uid: string; allowed: boolean; status?: { message?: string }; warnings?: string[] };

function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

for (const onError of ['deny', 'allow'] as const) {
  describe(`resilience: registry faults with onError: ${onError}`, () => {
    let rig: WebhookRig;
    let before: Record<string, number>;
    const faulted: string[] = [];

    beforeAll(async () => {
      before = resources();
      rig = await startWebhookRig(onError);
    });
    afterAll(async () => {
      await rig?.close();
    });

    for (const [i, c] of CASES.entries()) {
      it(`when ${c.name}: answers 200 with the ${c.determinate === true ? 'denial' : `onError (${onError})`} decision`, async () => {
        rig.proxy.clear();
        let image: string;
        if (c.fault === undefined) {
          image = `127.0.0.1:${await freePort()}/down/app@sha256:${'a'.repeat(64)}`;
        } else {
          image = await rig.image(`faults/case${i}`);
          faulted.push(image);
          rig.proxy.inject(c.fault.match, c.fault.fault);
        }
        const body = podReview([image]);
        const reply = await rig.server.post('/validate?timeout=3s', body);
        expect(reply.status).toBe(200);
        const response = (reply.json as { response: Response }).response;
        expect(response.uid).toBe(body.request.uid);
        const text = [response.status?.message ?? '', ...(response.warnings ?? [])].join(' ');
        expect(text).toMatch(c.code);
        expect(response.allowed).toBe(c.determinate !== true && onError === 'allow');
      });
    }

    it('then, with the registry healthy, allows the same images (nothing poisoned) and holds no extra handles', async () => {
      rig.proxy.clear();
      const reply = await rig.server.post('/validate?timeout=5s', podReview(faulted));
      const response = (reply.json as { response: Response }).response;
      expect(response.status?.message ?? '').toBe('');
      expect(response.allowed).toBe(true);
      expect(rig.server.audit.at(-1)?.images.every((i) => i.digest !== undefined)).toBe(true);
      const unsigned = await rig.image('faults/unsigned', false);
      const denied = await rig.server.post('/validate', podReview([unsigned]));
      expect((denied.json as { response: Response }).response.allowed).toBe(false);

      const closing = rig;
      rig = undefined as unknown as WebhookRig;
      await closing.close();
      await new Promise((r) => setTimeout(r, 100));
      const after = resources();
      for (const kind of ['TCPSocketWrap', 'TCPServerWrap', 'Timeout', 'ProcessWrap']) {
        expect(after[kind] ?? 0, kind).toBeLessThanOrEqual(before[kind] ?? 0);
      }
    });
  });
}
