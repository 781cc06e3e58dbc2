/**
 * One scenario as registry content: every document's bytes (documents.ts), where each is served
 * (`/v2/<repo>/manifests|blobs|referrers/…`, `/token?scope=…`), and what the registry did while
 * serving (which documents were delivered whole, which malformed ones, which substituted).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  b64,
  BUNDLE_TYPE,
  descriptor,
  IN_TOTO,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_MANIFEST,
  pae,
  platformOf,
  PREDICATE_TYPE,
  render,
  sha256,
  type Descriptor,
} from './documents.js';
import { authRefuses, type Delivery, type Doc, type ImageScenario, type TokenAnswer } from './scenario.js';

export type Signer = (data: Buffer) => Buffer;

interface Served {
  /** undefined: an empty config blob, delivered as is and not tracked. */
  doc: Doc | undefined;
  bytes: Buffer;
  contentType: string;
}

export interface World {
  id: string;
  repo: string;
  /** The reference the pod names. */
  image: string;
  scenario: ImageScenario;
  /** The digest a node would run (index or manifest) and the platform manifest's. */
  topDigest: string;
  /** Documents whose mutation changed their bytes. */
  mutated: ReadonlySet<Doc>;
  /** Documents delivered whole (a GET answered 200 with every byte). */
  delivered: Set<Doc>;
  /** Documents for which other bytes than the digest names were delivered. */
  substituted: Set<Doc>;
  /** Byte sizes of the documents, for the caps. */
  sizes: Partial<Record<Doc, number>>;
  /**
   * Answers `GET|HEAD /v2/<repo>/<kind>/<ref>`; a redirect delivery sends `/r/<id>/<hops><path>`
   * first (`redirected`: the request came through those hops).
   */
  handle(
    kind: 'manifests' | 'blobs' | 'referrers',
    ref: string,
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    redirected: boolean,
  ): void;
  token(req: IncomingMessage, res: ServerResponse): void;
  /** The Bearer challenge header, when the scenario uses Bearer auth. */
  challenge(): string | undefined;
  /** Whether `authorization` carries this world's token (always true without Bearer auth). */
  authorized(authorization: string | undefined): boolean;
}

const EMPTY = Buffer.from('{}');
const EMPTY_DESC = descriptor(OCI_CONFIG, EMPTY);

export function buildWorld(
  s: ImageScenario,
  ctx: { id: string; host: string; key: Signer; otherKey: Signer },
): World {
  const repo = `f/${s.onError}-${s.attest ? 'att' : 'sig'}/${ctx.id}`;
  const mutated = new Set<Doc>();
  const byDigest = new Map<string, Served>();
  const sizes: Partial<Record<Doc, number>> = {};
  byDigest.set(EMPTY_DESC.digest, { doc: undefined, bytes: EMPTY, contentType: OCI_CONFIG });
  const put = (doc: Doc, bytes: Buffer, contentType: string): Descriptor => {
    byDigest.set(sha256(bytes), { doc, bytes, contentType });
    sizes[doc] = bytes.byteLength;
    return descriptor(contentType, bytes);
  };

  const config = put(
    'config',
    render(
      'config',
      {
        architecture: 'amd64',
        os: 'linux',
        config: { Labels: { case: ctx.id, pad: 'c'.repeat(s.pad.config) } },
        rootfs: { type: 'layers', diff_ids: [sha256(`${ctx.id} diff`)] },
        history: [{ created_by: `COPY ${ctx.id} /app # buildkit` }],
      },
      s,
      mutated,
    ),
    OCI_CONFIG,
  );
  const layers = Array.from({ length: s.layers.count }, (_, i) => ({
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    digest: sha256(`${ctx.id} layer ${i}`),
    size: i === 0 && s.layers.bigDeclared ? 5 * 1024 ** 3 : 1000,
  }));
  const manifestBytes = render(
    'manifest',
    {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config,
      layers,
      annotations: { pad: 'm'.repeat(s.pad.manifest) },
    },
    s,
    mutated,
  );
  const manifest = put('manifest', manifestBytes, OCI_MANIFEST);
  let top = manifest;
  let topDoc: Doc = 'manifest';
  if (s.index !== undefined) {
    const others: Descriptor[] = [];
    for (const [i, p] of s.index.others.entries()) {
      const other = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config,
          layers: [{ ...layers[0]!, size: 5 * 1024 ** 3 }],
          annotations: { other: `${ctx.id} ${i}` },
        }),
      );
      byDigest.set(sha256(other), { doc: undefined, bytes: other, contentType: OCI_MANIFEST });
      others.push({ ...descriptor(OCI_MANIFEST, other), platform: platformOf(p) });
    }
    const image = { ...manifest, platform: platformOf('linux/amd64') };
    const entries = s.index.othersFirst ? [...others, image] : [image, ...others];
    top = put(
      'index',
      render('index', { schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries }, s, mutated),
      OCI_INDEX,
    );
    topDoc = 'index';
  }
  const topHex = top.digest.slice('sha256:'.length);
  const tags = new Map<string, Served>();
  tags.set('t', { doc: topDoc, bytes: byDigest.get(top.digest)!.bytes, contentType: top.mediaType });

  // the `.sig` tag: a simple-signing payload over the top digest, signed over the bytes served
  if (s.sig.kind !== 'none') {
    const payload = render(
      'sigPayload',
      {
        critical: {
          identity: { 'docker-reference': `${ctx.host}/${repo}` },
          image: {
            'docker-manifest-digest': s.sig.kind === 'other-digest' ? sha256(`${ctx.id} other`) : top.digest,
          },
          type: 'cosign container image signature',
        },
        optional: { pad: 'p'.repeat(s.pad.sigPayload) },
      },
      s,
      mutated,
    );
    const payloadDesc = put('sigPayload', payload, 'application/vnd.dev.cosign.simplesigning.v1+json');
    const sig =
      s.sig.kind === 'garbage'
        ? b64(`garbage ${ctx.id}`)
        : b64((s.sig.kind === 'wrong-key' ? ctx.otherKey : ctx.key)(payload));
    const layer = (signature: string) => ({
      ...payloadDesc,
      annotations: { 'dev.cosignproject.cosign/signature': signature },
    });
    const sigManifest = render(
      'sig',
      {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: EMPTY_DESC,
        layers: [layer(sig), ...Array.from({ length: s.sig.junk }, (_, i) => layer(b64(`junk ${i}`)))],
      },
      s,
      mutated,
    );
    sizes.sig = sigManifest.byteLength;
    tags.set(`sha256-${topHex}.sig`, { doc: 'sig', bytes: sigManifest, contentType: OCI_MANIFEST });
  }

  // attestations: one signed in-toto statement, as a `.att` DSSE layer or a bundle referrer
  let referrers: object[] = [];
  if (s.att.kind !== 'none') {
    const statement = render(
      'statement',
      {
        _type: 'https://in-toto.io/Statement/v1',
        subject: [
          {
            name: `${ctx.host}/${repo}`,
            digest: { sha256: s.att.kind === 'wrong-subject' ? sha256(`${ctx.id} x`).slice(7) : topHex },
          },
        ],
        predicateType: s.att.kind === 'wrong-predicate-type' ? `${PREDICATE_TYPE}/other` : PREDICATE_TYPE,
        predicate: { ok: s.att.kind !== 'false-predicate', pad: 'a'.repeat(s.pad.predicate) },
      },
      s,
      mutated,
    );
    sizes.statement = statement.byteLength;
    const signer = s.att.kind === 'wrong-key' ? ctx.otherKey : ctx.key;
    const envelope = {
      payloadType: IN_TOTO,
      payload: b64(statement),
      signatures: [{ keyid: '', sig: b64(signer(pae(IN_TOTO, statement))) }],
    };
    if (s.att.kind === 'bundle') {
      const bundle = put(
        'bundle',
        render(
          'bundle',
          {
            mediaType: BUNDLE_TYPE,
            verificationMaterial: { publicKey: { hint: '' }, tlogEntries: [] },
            dsseEnvelope: envelope,
          },
          s,
          mutated,
        ),
        BUNDLE_TYPE,
      );
      const bundleManifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          artifactType: BUNDLE_TYPE,
          config: { ...EMPTY_DESC, mediaType: 'application/vnd.oci.empty.v1+json' },
          layers: [bundle],
          subject: { mediaType: top.mediaType, digest: top.digest, size: top.size },
          annotations: {
            'dev.sigstore.bundle.content': 'dsse-envelope',
            'dev.sigstore.bundle.predicateType': PREDICATE_TYPE,
          },
        }),
      );
      byDigest.set(sha256(bundleManifest), {
        doc: undefined,
        bytes: bundleManifest,
        contentType: OCI_MANIFEST,
      });
      referrers = [
        {
          ...descriptor(OCI_MANIFEST, bundleManifest),
          artifactType: BUNDLE_TYPE,
          annotations: { 'dev.sigstore.bundle.predicateType': PREDICATE_TYPE },
        },
      ];
    } else {
      const env = put(
        'attEnvelope',
        render('attEnvelope', envelope, s, mutated),
        'application/vnd.dsse.envelope.v1+json',
      );
      const attManifest = render(
        'att',
        {
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: EMPTY_DESC,
          layers: Array.from({ length: s.att.repeat }, () => ({
            ...env,
            annotations: { 'dev.cosignproject.cosign/signature': '', predicateType: PREDICATE_TYPE },
          })),
        },
        s,
        mutated,
      );
      sizes.att = attManifest.byteLength;
      tags.set(`sha256-${topHex}.att`, { doc: 'att', bytes: attManifest, contentType: OCI_MANIFEST });
    }
  }
  const referrersIndex = render(
    'referrers',
    { schemaVersion: 2, mediaType: OCI_INDEX, manifests: referrers },
    s,
    mutated,
  );

  const token = `tok-${ctx.id}-`;
  const answer = s.auth.kind === 'bearer' ? s.auth.answer : undefined;
  const tokenValue =
    answer === undefined
      ? `${token}anonymous`
      : answer.kind === 'token'
        ? token + 'x'.repeat(Math.max(0, answer.bytes - token.length))
        : undefined;
  const delivered = new Set<Doc>();
  const substituted = new Set<Doc>();

  const world: World = {
    id: ctx.id,
    repo,
    image: `${ctx.host}/${repo}${s.pinned ? `@${top.digest}` : ':t'}`,
    scenario: s,
    topDigest: top.digest,
    mutated,
    delivered,
    substituted,
    sizes,
    handle(kind, ref, req, res, path, redirected) {
      const head = req.method === 'HEAD';
      const found =
        kind === 'referrers'
          ? { doc: 'referrers' as const, bytes: referrersIndex, contentType: OCI_INDEX }
          : kind === 'manifests' && !ref.startsWith('sha256:')
            ? tags.get(ref)
            : byDigest.get(ref);
      if (found === undefined) {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"not here"}]}');
        return;
      }
      const d = found.doc === undefined ? undefined : s.deliveries[found.doc];
      if (d?.kind === 'redirect' && !redirected) {
        res.writeHead(307, { location: `/r/${ctx.id}/${d.hops}${path}` }).end();
        return;
      }
      const digest = kind === 'referrers' ? undefined : ref.startsWith('sha256:') ? ref : sha256(found.bytes);
      send(res, found, head, digest);
    },
    token(_req, res) {
      // imagegate learns one realm per registry: repositories without auth get a token too
      const a: TokenAnswer = answer ?? { kind: 'token', bytes: 16, field: 'token' };
      if (a.kind === 'stall') return;
      if (a.kind === 'status') return void res.writeHead(a.status).end();
      if (a.kind === 'not-json')
        return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"token": "unterminated');
      const body =
        a.kind === 'json'
          ? JSON.stringify(a.json)
          : JSON.stringify({ [a.field]: tokenValue, expires_in: 300 });
      send(
        res,
        { doc: 'token', bytes: Buffer.from(body), contentType: 'application/json' },
        false,
        undefined,
      );
    },
    challenge() {
      if (s.auth.kind !== 'bearer') return undefined;
      const scope = `repository:${repo}:pull`;
      switch (s.auth.challenge) {
        case 'valid':
          return `Bearer realm="http://${ctx.host}/token",service="fuzz",scope="${scope}"`;
        case 'no-realm':
          return `Bearer service="fuzz",scope="${scope}"`;
        case 'garbage':
          return `Bearer realm="http://${ctx.host}/token`;
        case 'huge':
          return `Bearer realm="http://${ctx.host}/token",service="${'s'.repeat(16 * 1024)}"`;
      }
    },
    authorized(authorization) {
      if (s.auth.kind === 'none')
        return authorization === undefined || authorization === `Bearer ${tokenValue}`;
      return tokenValue !== undefined && !authRefuses(s.auth) && authorization === `Bearer ${tokenValue}`;
    },
  };

  function send(res: ServerResponse, found: Served, head: boolean, digest: string | undefined): void {
    const doc = found.doc;
    const d: Delivery = (doc === undefined ? undefined : s.deliveries[doc]) ?? { kind: 'normal' };
    let bytes = found.bytes;
    if (d.kind === 'substitute' && digest !== undefined) {
      bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, substituted: ctx.id }));
    }
    const headers = {
      'content-type': found.contentType,
      'content-length': bytes.byteLength,
      ...(digest !== undefined ? { 'docker-content-digest': digest } : {}),
    };
    const done = (): void => {
      if (head || doc === undefined) return;
      delivered.add(doc);
      if (bytes !== found.bytes) substituted.add(doc);
    };
    switch (d.kind) {
      case 'status':
        res
          .writeHead(d.status, { 'content-type': 'application/json' })
          .end('{"errors":[{"code":"DENIED","message":"fuzz"}]}');
        return;
      case 'stall':
        return;
      case 'truncate':
        res.writeHead(200, headers);
        if (head) return void res.end();
        res.write(bytes.subarray(0, Math.floor(bytes.byteLength * d.fraction)), () => res.destroy());
        return;
      case 'drip': {
        res.writeHead(200, headers);
        if (head) return void res.end();
        let at = 0;
        const timer = setInterval(() => {
          const chunk = bytes.subarray(at, at + d.chunk);
          at += chunk.byteLength;
          if (at >= bytes.byteLength) {
            clearInterval(timer);
            res.end(chunk, done);
          } else res.write(chunk);
        }, d.everyMs);
        res.once('close', () => clearInterval(timer));
        return;
      }
      default:
        break;
    }
    res.writeHead(200, headers);
    if (head) return void res.end();
    res.end(bytes, done);
  }

  return world;
}
