/**
 * Property 2 of issue 20 for registry data: memory is accounted where it is spent. A blob fetched
 * once but listed 32 times is decoded at most while the review's byte budget lasts (each use
 * counted), and bearer tokens are read and cached within byte bounds (64 KiB an answer, 4 MiB of
 * tokens kept), against a hostile registry on loopback.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fetchCandidates } from '../../../src/checks/signature/fetch.js';
import { DSSE_ENVELOPE_MEDIA_TYPE } from '../../../src/checks/signature/cosign-legacy.js';
import { MAX_ATTESTATION_BYTES } from '../../../src/checks/attestations/verify.js';
import { MAX_TOKEN_ANSWER_BYTES, TOKEN_CACHE_BYTES } from '../../../src/registry/authorizer.js';
import { DEFAULT_LIMITS } from '../../../src/registry/limits.js';
import { createRegistry, parseReference, type Registry } from '../../../src/registry/index.js';
import {
  OCI_CONFIG,
  OCI_MANIFEST,
  pushImage,
  startHostileRegistry,
  type HostileRegistry,
} from '../../helpers/hostile-registry.js';

const MiB = 1024 * 1024;
const never = new AbortController().signal;

describe('decoded and parsed registry bytes are counted per use', () => {
  let reg: HostileRegistry;
  const clients: Registry[] = [];
  const client = (): Registry => {
    const c = createRegistry({ registries: { [reg.host]: { insecure: true } } });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    reg = await startHostileRegistry();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(() => reg.stop());

  describe('when an .att manifest lists one ~11.5 MiB DSSE blob 32 times', () => {
    it('fetches it once and stops decoding at the review byte budget: BUDGET_BYTES_IN_FLIGHT', async () => {
      const image = pushImage(reg, 'att/fanout', '1');
      // a DSSE envelope whose payload is ~8.6 MiB of base64-encoded JSON: ~11.5 MiB on the wire
      const payload = Buffer.from(JSON.stringify({ pad: 'x'.repeat(Math.floor(8.6 * MiB)) })).toString(
        'base64',
      );
      const envelope = JSON.stringify({
        payloadType: 'application/vnd.in-toto+json',
        payload,
        signatures: [{ sig: 'MEUCIQ==', keyid: '' }],
      });
      expect(envelope.length).toBeGreaterThan(11 * MiB);
      expect(envelope.length).toBeLessThan(MAX_ATTESTATION_BYTES);
      const blob = reg.blob(envelope, DSSE_ENVELOPE_MEDIA_TYPE);
      reg.manifest(
        'att/fanout',
        {
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: reg.blob('{}', OCI_CONFIG),
          layers: Array.from({ length: DEFAULT_LIMITS.maxSignaturesPerImage }, () => blob),
        },
        { tag: `${image.digest.replace(':', '-')}.att` },
      );
      reg.resetCounts();
      const access = client().access({ deadline: Date.now() + 10_000 });
      const heapBefore = process.memoryUsage().heapUsed;
      await expect(
        fetchCandidates(
          access,
          parseReference(`${reg.host}/att/fanout`),
          image.digest,
          { attestations: true, signatures: false, referrers: false, maxPayloadBytes: MAX_ATTESTATION_BYTES },
          never,
        ),
      ).rejects.toThrowWithCode('BUDGET_BYTES_IN_FLIGHT', { indeterminate: false });
      const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
      access.release?.();
      // the blob crossed the wire once; before, it was decoded 32 times (~730 MiB of strings)
      expect(reg.log.filter((l) => l.includes(`/blobs/${blob.digest}`))).toHaveLength(1);
      expect(heapGrowth).toBeLessThan(DEFAULT_LIMITS.maxBytesPerReview * 4);
    }, 60_000);
  });

  describe('when a token answer is larger than a real one', () => {
    it('stops reading it at MAX_TOKEN_ANSWER_BYTES: RESPONSE_TOO_LARGE', async () => {
      pushImage(reg, 'token/huge', '1');
      reg.route(/^GET \/v2\/token\/huge\//, (req, res) => {
        if (req.headers.authorization === undefined) {
          res.writeHead(401, { 'www-authenticate': `Bearer realm="${reg.url}/huge-token"` }).end();
        } else res.writeHead(404).end();
      });
      reg.route(/^GET \/huge-token/, (_req, res) => {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ token: 't'.repeat(MiB) }));
      });
      await expect(
        client()
          .access()
          .resolve(parseReference(`${reg.host}/token/huge:1`), never),
      ).rejects.toThrowWithCode('RESPONSE_TOO_LARGE');
    });
  });

  describe('when 3 pods × 64 repositories each get a 60 KiB token', () => {
    it('keeps at most TOKEN_CACHE_BYTES of tokens: the first repository needs a new one', async () => {
      const tokenChars = 60 * 1024;
      expect(tokenChars * 2 + 100).toBeLessThan(MAX_TOKEN_ANSWER_BYTES * 2);
      let issued = 0;
      reg.route(/^GET \/v2\/many\//, (req, res) => {
        if (req.headers.authorization === undefined) {
          res.writeHead(401, { 'www-authenticate': `Bearer realm="${reg.url}/many-token"` }).end();
        } else res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[]}');
      });
      reg.route(/^GET \/many-token/, (_req, res) => {
        issued++;
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ token: `${issued}`.padEnd(tokenChars, 't'), expires_in: 3600 }));
      });
      const c = client();
      const repos = Array.from({ length: 192 }, (_, i) => `many/r${i}:1`);
      for (const r of repos) {
        await c
          .access()
          .resolve(parseReference(`${reg.host}/${r}`), never)
          .catch(() => undefined);
      }
      expect(issued).toBe(192);
      // 192 tokens of 60 KiB are 11 MiB; the cache holds 4 MiB: the first one was evicted
      await c
        .access()
        .resolve(parseReference(`${reg.host}/${repos[0]}`), never)
        .catch(() => undefined);
      expect(issued).toBe(193);
      // and the most recent one is still cached
      await c
        .access()
        .resolve(parseReference(`${reg.host}/${repos[191]}`), never)
        .catch(() => undefined);
      expect(issued).toBe(193);
      expect((192 * tokenChars * 2) / TOKEN_CACHE_BYTES).toBeGreaterThan(5);
    }, 60_000);
  });
});
