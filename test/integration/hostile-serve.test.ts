/**
 * `imagegate serve` as a process, with the chart's heap setting and default budgets, under reviews of
 * images on a hostile registry (test/helpers/hostile-registry.ts): 10,000 platforms, 150 × 4 MiB
 * platform manifests, 30 × 4 MiB variants of one platform, a build step of millions of spaces, a PEM
 * header repeated a hundred thousand times, an `.att` tag listing one 11.5 MiB DSSE blob 32 times,
 * a stalled and a dripping registry. While they run,
 * /healthz and a review that needs no registry are answered before any hostile review; every hostile
 * review is answered (budgets deny even under onError: allow); peak RSS stays under the chart's
 * memory limit; no more sockets than the per-registry cap reach the registry.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/registry/limits.js';
import {
  drip,
  OCI_MANIFEST,
  pushImage,
  pushIndex,
  stall,
  startHostileRegistry,
  type HostileRegistry,
} from '../helpers/hostile-registry.js';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process.js';

const MiB = 1024 * 1024;
/** The chart's webhook.timeoutSeconds default. */
const TIMEOUT_S = 10;

interface Answer {
  uid: string;
  allowed: boolean;
  message: string;
  /** Order in which answers arrived. */
  seq: number;
}

describe('imagegate serve under hostile registries (a real process, chart memory settings)', () => {
  let reg: HostileRegistry;
  /** More attacker registries: their reviews do not queue behind the first one's connections. */
  let reg2: HostileRegistry;
  let reg3: HostileRegistry;
  let serve: ServeProcess;
  let seq = 0;

  const send = async (uid: string, images: string[], timeout: string): Promise<Answer> => {
    const a = await serve.review(uid, images, timeout);
    return { uid: a.uid, allowed: a.allowed, message: a.message, seq: ++seq };
  };

  const img = (path: string): string => `${(path.startsWith('text/') ? reg2 : reg).host}/${path}`;

  beforeAll(async () => {
    reg = await startHostileRegistry();
    reg2 = await startHostileRegistry();
    reg3 = await startHostileRegistry();
    pushIndex(reg, 'budget/wide', '1', 10_000);
    pushIndex(reg, 'budget/fat', '1', 150, { entryBytes: 4 * MiB });
    // within the platform budget, over a review's byte share (32 MiB): the same 10 entries in 3 indexes
    for (let r = 0; r < 3; r++) {
      pushIndex(reg, `budget/variants${r}`, '1', 10, {
        entryBytes: 4 * MiB - 4096,
        keep: true,
        platform: (i) => ({ os: 'linux', architecture: 'amd64', variant: `v${i}` }),
      });
    }
    pushImage(reg2, 'text/history', '1', { createdBy: `RUN ${' '.repeat(4 * MiB)}x` });
    const signed = pushImage(reg2, 'text/pem', '1');
    const payload = reg2.blob('{"critical":{}}', 'application/vnd.dev.cosign.simplesigning.v1+json');
    reg2.manifest(
      'text/pem',
      {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: reg2.blob('{}', 'application/vnd.oci.image.config.v1+json'),
        layers: [
          {
            ...payload,
            annotations: {
              'dev.cosignproject.cosign/signature': 'MEUCIQ==',
              'dev.sigstore.cosign/certificate': '-----BEGIN CERTIFICATE-----\n'.repeat(100_000),
            },
          },
        ],
      },
      { tag: `${signed.digest.replace(':', '-')}.sig` },
    );
    // one ~11.5 MiB DSSE blob listed 32 times in an `.att` tag: fetched once, each use counted
    const attested = pushImage(reg2, 'text/att', '1');
    const dsse = reg2.blob(
      JSON.stringify({
        payloadType: 'application/vnd.in-toto+json',
        payload: Buffer.from(JSON.stringify({ pad: 'x'.repeat(Math.floor(8.6 * MiB)) })).toString('base64'),
        signatures: [{ sig: 'MEUCIQ==', keyid: '' }],
      }),
      'application/vnd.dsse.envelope.v1+json',
    );
    reg2.manifest(
      'text/att',
      {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: reg2.blob('{}', 'application/vnd.oci.image.config.v1+json'),
        layers: Array.from({ length: 32 }, () => dsse),
      },
      { tag: `${attested.digest.replace(':', '-')}.att` },
    );
    for (let i = 0; i < 2000; i++) pushImage(reg3, `many/app${i}`, '1');
    pushImage(reg, 'slow/stall', '1');
    pushImage(reg, 'slow/drip', '1');
    reg.route(/^GET \/v2\/slow\/stall\/manifests\//, stall);
    reg.route(/^GET \/v2\/slow\/drip\/manifests\//, drip(500));

    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const key = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const policy = (name: string, glob: string, onError: string, spec: object): object => ({
      apiVersion: 'imagegate.dev/v1alpha1',
      kind: 'ImagePolicy',
      metadata: { name },
      spec: { mode: 'enforce', onError, images: [{ glob }], ...spec },
    });
    const docs = [
      // budgets must deny although this policy lets indeterminate checks through
      policy('budgets', `${reg.host}/budget/**`, 'allow', {
        platforms: ['all'],
        size: { maxCompressed: '1Gi' },
      }),
      policy('history', `${reg2.host}/text/history`, 'allow', { size: { maxCompressed: '1Ki' } }),
      policy('pem', `${reg2.host}/text/pem`, 'allow', {
        signature: { authorities: [{ name: 'k', key: { pem: key } }], transparencyLog: 'optional' },
      }),
      policy('att', `${reg2.host}/text/att`, 'allow', {
        attestations: [
          {
            name: 'sbom',
            predicateType: 'https://spdx.dev/Document',
            authorities: [{ name: 'k', key: { pem: key } }],
          },
        ],
      }),
      policy('slow', `${reg.host}/slow/**`, 'deny', { size: { maxCompressed: '1Gi' } }),
      policy('many', `${reg3.host}/many/**`, 'allow', { size: { maxCompressed: '1Gi' } }),
    ];
    serve = await startServeProcess({
      policies: docs,
      args: [
        '--insecure-registry',
        reg.host,
        '--insecure-registry',
        reg2.host,
        '--insecure-registry',
        reg3.host,
        '--unmatched',
        'allow',
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await serve?.stop();
    await reg?.stop();
    await reg2?.stop();
    await reg3?.stop();
  });

  it('answers every hostile review (budgets deny), /healthz and an unrelated review first, within the memory limit and the socket cap', async () => {
    const hostile: Array<[string, string[], RegExp]> = [
      ['wide', [img('budget/wide:1')], /BUDGET_INDEX_MANIFESTS/],
      ['fat', [img('budget/fat:1')], /BUDGET_PLATFORMS/],
      ...[0, 1, 2].map((r): [string, string[], RegExp] => [
        `variants${r}`,
        [img(`budget/variants${r}:1`)],
        /BUDGET_BYTES_IN_FLIGHT/,
      ]),
      ['history', [img('text/history:1')], /SIZE_EXCEEDED/],
      ['pem', [img('text/pem:1')], /text\/pem/],
      ['att', [img('text/att:1')], /BUDGET_BYTES_IN_FLIGHT/],
      ['stall', [img('slow/stall:1')], /TIMEOUT/],
      ['drip', [img('slow/drip:1')], /TIMEOUT/],
      // one pod naming 2,000 distinct images: 64 are looked up, the rest denied without a request
      ['many', Array.from({ length: 2000 }, (_, i) => `${reg3.host}/many/app${i}:1`), /BUDGET_IMAGES/],
    ];
    const timeout = `${TIMEOUT_S}s`;
    const pending = hostile.map(([uid, images]) => send(uid, images, timeout));
    // while they run: the liveness probe and a review that needs no registry
    const health = serve.get('/healthz').then((status) => ({ status, seq: ++seq }));
    const unrelated = send('unrelated', ['quay.io/someone/else:1'], timeout);
    const answers = await Promise.all(pending);
    const h = await health;
    const u = await unrelated;

    expect(h.status).toBe(200);
    expect(u.allowed).toBe(true);
    // the stalled and dripping registries hold their reviews until the deadline: both answers come first
    const slowest = Math.min(
      ...answers.filter((a) => a.uid === 'stall' || a.uid === 'drip').map((a) => a.seq),
    );
    expect(h.seq).toBeLessThan(slowest);
    expect(u.seq).toBeLessThan(slowest);
    // the server's own clock (its audit records): answered before the API server gives up on it
    await new Promise((r) => setTimeout(r, 200)); // the last record may still be in the pipe
    for (const [i, [uid, , code]] of hostile.entries()) {
      const a = answers[i]!;
      expect(a.uid).toBe(uid);
      expect(a.allowed, `${uid}: ${a.message}`).toBe(false);
      expect(a.message.slice(0, 600), uid).toMatch(code);
      expect(serve.takeAudit(uid)?.latencyMs, uid).toBeLessThan(TIMEOUT_S * 1000);
    }

    const { hwmMiB } = await serve.rss();
    console.log(JSON.stringify({ hwmMiB, peak: reg.sockets.peak, total: reg.sockets.total }));
    expect(hwmMiB).toBeLessThan(serve.memory.limitMiB);
    expect(reg.sockets.peak).toBeLessThanOrEqual(DEFAULT_LIMITS.maxConnectionsPerRegistry);
    expect(reg2.sockets.peak).toBeLessThanOrEqual(DEFAULT_LIMITS.maxConnectionsPerRegistry);
    expect(reg3.sockets.peak).toBeLessThanOrEqual(DEFAULT_LIMITS.maxConnectionsPerRegistry);
    const lookups = reg3.log.filter((l) => /^GET \/v2\/many\/app\d+\/manifests\/1$/.test(l)).length;
    expect(lookups).toBe(DEFAULT_LIMITS.maxImagesPerReview);
  }, 120_000);
});
