/**
 * What the hostile registry serves for one image, as data (fast-check arbitraries build it): the
 * documents (index, manifest, config, `.sig` manifest and payload, `.att` manifest and DSSE
 * envelope, in-toto statement, Sigstore bundle), typed mutations at the paths checks read, sizes,
 * signature and attestation variants, Bearer challenges and token answers, and how each answer is
 * delivered (status, stall, drip, truncation, redirects, substituted bytes). world.ts turns it
 * into bytes and handlers; oracle.ts decides what imagegate may answer.
 */
import fc from 'fast-check';
import type { KnownOpenClass } from './known-open.js';

/** Documents the registry serves for an image. */
export type Doc =
  | 'index'
  | 'manifest'
  | 'config'
  | 'sig'
  | 'sigPayload'
  | 'att'
  | 'attEnvelope'
  | 'statement'
  | 'bundle'
  | 'referrers'
  | 'token';

/** How one answer is delivered. */
export type Delivery =
  | { kind: 'normal' }
  | { kind: 'status'; status: 401 | 403 | 429 | 500 | 502 | 503 }
  | { kind: 'stall' }
  | { kind: 'drip'; chunk: number; everyMs: number }
  | { kind: 'truncate'; fraction: number }
  | { kind: 'redirect'; hops: number }
  | { kind: 'substitute' };

export type WrongValue =
  | { kind: 'delete' }
  | { kind: 'json'; json: unknown }
  /** Nested arrays or objects this deep, written as raw JSON text. */
  | { kind: 'deep'; depth: number; array: boolean };

export interface Mutation {
  doc: Doc;
  path: (string | number)[];
  value: WrongValue;
}

export type SigKind = 'valid' | 'none' | 'wrong-key' | 'other-digest' | 'garbage';
export type AttKind =
  'att' | 'bundle' | 'none' | 'wrong-key' | 'wrong-subject' | 'wrong-predicate-type' | 'false-predicate';

export type TokenAnswer =
  | { kind: 'token'; bytes: number; field: 'token' | 'access_token' }
  | { kind: 'json'; json: unknown }
  | { kind: 'not-json' }
  | { kind: 'status'; status: 500 | 503 }
  | { kind: 'stall' };

export type Auth =
  | { kind: 'none' }
  | { kind: 'bearer'; challenge: 'valid' | 'no-realm' | 'garbage' | 'huge'; answer: TokenAnswer };

export interface ImageScenario {
  onError: 'allow' | 'deny';
  /** The image's policy also requires an attestation (`.att` or bundle referrer). */
  attest: boolean;
  /** Referenced by digest (no tag lookup). */
  pinned: boolean;
  /** A multi-arch index: the image (linux/amd64) and other platforms' entries, before or after it. */
  index?: { others: string[]; othersFirst: boolean };
  layers: { count: number; bigDeclared: boolean };
  /** Padding bytes in each document (annotations, labels, predicate). */
  pad: { manifest: number; config: number; sigPayload: number; predicate: number };
  sig: { kind: SigKind; junk: number };
  att: { kind: AttKind; repeat: number };
  mutations: Mutation[];
  deliveries: Partial<Record<Doc, Delivery>>;
  auth: Auth;
  /**
   * While this image's review runs (the first image of a batch decides): connections to imagegate
   * that send an AdmissionReview's headers and then its body slowly, `bytes` declared, 1 KiB every
   * `everyMs` (`fill`: all but 8 bytes at once first), held until the review is answered.
   */
  slowBodies: { connections: number; bytes: number; everyMs: number; fill: boolean };
}

type Expect = 'object' | 'array' | 'string' | 'digest' | 'size' | 'boolean';
type PathSpec = [(string | number)[], Expect, { required?: boolean }?];

/** Paths a check reads in each document, with the type it must have there. */
export const PATHS: Partial<Record<Doc, PathSpec[]>> = {
  index: [
    [['manifests'], 'array', { required: true }],
    [['manifests', 0], 'object'],
    [['manifests', 0, 'platform'], 'object'],
    [['manifests', 0, 'platform', 'architecture'], 'string', { required: true }],
    [['manifests', 0, 'platform', 'os'], 'string', { required: true }],
    [['manifests', 0, 'digest'], 'digest', { required: true }],
    [['manifests', 0, 'size'], 'size', { required: true }],
    [['manifests', 0, 'mediaType'], 'string'],
    [['manifests', -1, 'platform'], 'object'],
    [['manifests', -1, 'size'], 'size', { required: true }],
    [['mediaType'], 'string'],
  ],
  manifest: [
    [['config'], 'object', { required: true }],
    [['config', 'digest'], 'digest', { required: true }],
    [['config', 'size'], 'size', { required: true }],
    [['config', 'mediaType'], 'string', { required: true }],
    [['layers'], 'array', { required: true }],
    [['layers', 0], 'object'],
    [['layers', 0, 'size'], 'size', { required: true }],
    [['layers', 0, 'digest'], 'digest', { required: true }],
    [['layers', -1, 'size'], 'size', { required: true }],
    [['mediaType'], 'string'],
  ],
  config: [
    [['history'], 'array'],
    [['history', 0], 'object'],
    [['history', 0, 'created_by'], 'string'],
    [['history', 0, 'empty_layer'], 'boolean'],
    [['rootfs'], 'object'],
    [['rootfs', 'diff_ids'], 'array'],
    // not a sha256 digest ('', 'sha256:xyz', upper case, md5): refused as REGISTRY_CONTENT_INVALID
    [['rootfs', 'diff_ids', 0], 'digest'],
    [['architecture'], 'string'],
    [['os'], 'string'],
  ],
  sig: [
    [['layers'], 'array', { required: true }],
    [['layers', 0], 'object'],
    [['layers', 0, 'annotations'], 'object', { required: true }],
    [['layers', 0, 'annotations', 'dev.cosignproject.cosign/signature'], 'string', { required: true }],
    [['layers', 0, 'digest'], 'digest', { required: true }],
    [['layers', 0, 'size'], 'size', { required: true }],
  ],
  sigPayload: [
    [['critical'], 'object', { required: true }],
    [['critical', 'image'], 'object', { required: true }],
    [['critical', 'image', 'docker-manifest-digest'], 'digest', { required: true }],
    // optional for cosign (decoded into a struct: missing or null is the zero value)
    [['critical', 'identity'], 'object'],
    [['critical', 'identity', 'docker-reference'], 'string'],
    [['critical', 'type'], 'string', { required: true }],
  ],
  att: [
    [['layers'], 'array', { required: true }],
    [['layers', 0], 'object'],
    [['layers', 0, 'digest'], 'digest', { required: true }],
    [['layers', 0, 'size'], 'size', { required: true }],
  ],
  attEnvelope: [
    [['payload'], 'string', { required: true }],
    [['payloadType'], 'string', { required: true }],
    [['signatures'], 'array', { required: true }],
    [['signatures', 0], 'object'],
    [['signatures', 0, 'sig'], 'string', { required: true }],
  ],
  statement: [
    [['_type'], 'string', { required: true }],
    [['subject'], 'array', { required: true }],
    [['subject', 0], 'object'],
    [['subject', 0, 'digest'], 'object', { required: true }],
    [['subject', 0, 'digest', 'sha256'], 'string', { required: true }],
    [['predicateType'], 'string', { required: true }],
    [['predicate'], 'object', { required: true }],
    [['predicate', 'ok'], 'boolean', { required: true }],
  ],
  bundle: [
    [['mediaType'], 'string', { required: true }],
    [['verificationMaterial'], 'object', { required: true }],
    [['dsseEnvelope'], 'object', { required: true }],
    [['dsseEnvelope', 'payload'], 'string', { required: true }],
    [['dsseEnvelope', 'signatures'], 'array', { required: true }],
  ],
  referrers: [
    [['manifests'], 'array', { required: true }],
    [['manifests', 0], 'object'],
    [['manifests', 0, 'digest'], 'digest', { required: true }],
    [['manifests', 0, 'artifactType'], 'string'],
  ],
};

const WRONG: Record<Expect, unknown[]> = {
  object: [null, 12345, [null], 'x', true, []],
  array: [null, {}, 12345, 'x', [null], [12345]],
  string: [null, 12345, {}, [null], true],
  digest: [null, 12345, '', 'sha256:xyz', `sha256:${'A'.repeat(64)}`, 'md5:00'],
  size: [null, '1000', -1, 1.5, 1e308, {}, 2 ** 53 + 1],
  boolean: ['true', 1, null, {}],
};

function mutationArb(doc: Doc, specs: PathSpec[]): fc.Arbitrary<Mutation> {
  return fc.constantFrom(...specs).chain(([path, expect, opts]) =>
    fc
      .oneof(
        {
          weight: 6,
          // null for an optional field reads as absent (as Go's decoding, cosign's, reads it)
          arbitrary: fc
            .constantFrom(...WRONG[expect].filter((v) => v !== null || opts?.required === true))
            .map((json) => ({ kind: 'json', json })),
        },
        {
          weight: opts?.required === true ? 2 : 0,
          arbitrary: fc.constant({ kind: 'delete' } as const),
        },
        {
          weight: expect === 'string' || expect === 'digest' ? 0 : 1,
          // nested objects where an object belongs are well-formed (unknown fields): arrays there
          arbitrary: fc.record({
            kind: fc.constant('deep' as const),
            depth: fc.oneof(fc.integer({ min: 2, max: 64 }), fc.integer({ min: 1000, max: 20_000 })),
            array: expect === 'object' ? fc.constant(true) : fc.boolean(),
          }),
        },
      )
      .map((value): Mutation => ({ doc, path, value: value as WrongValue })),
  );
}

/** Documents served as blobs (the others are manifests, the referrers list or the token answer). */
export const BLOBS: readonly Doc[] = ['config', 'sigPayload', 'attEnvelope', 'bundle'];

const delivery = (doc: Doc): fc.Arbitrary<Delivery> =>
  fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .constantFrom(401, 403, 429, 500, 502, 503)
        .map((status) => ({ kind: 'status', status }) as Delivery),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'stall' } as Delivery) },
    {
      weight: 2,
      arbitrary: fc
        .record({ chunk: fc.integer({ min: 1, max: 4096 }), everyMs: fc.integer({ min: 1, max: 400 }) })
        .map((d) => ({ kind: 'drip', ...d }) as Delivery),
    },
    {
      weight: 2,
      arbitrary: fc
        .double({ min: 0, max: 0.95, noNaN: true })
        .map((fraction) => ({ kind: 'truncate', fraction }) as Delivery),
    },
    // registries redirect blob downloads (to storage); 6 hops and more exceed imagegate's limit of 5
    {
      weight: BLOBS.includes(doc) ? 3 : 0,
      arbitrary: fc.integer({ min: 1, max: 8 }).map((hops) => ({ kind: 'redirect', hops }) as Delivery),
    },
    // the tag lookup of a manifest names no digest: substituted bytes are simply another image
    {
      weight: doc === 'token' || doc === 'referrers' ? 0 : 2,
      arbitrary: fc.constant({ kind: 'substitute' } as Delivery),
    },
  );

const CANONICAL_OTHERS = ['linux/arm64', 'linux/arm/v7', 'linux/s390x', 'windows/amd64', 'linux/ppc64le'];
const SPELLINGS = [
  'linux/x86_64',
  'linux/x86-64',
  'Linux/AMD64',
  'linux/aarch64',
  'linux/armhf',
  'linux/amd64',
];

const MiB = 1024 * 1024;
const padArb = (caps: number[]): fc.Arbitrary<number> =>
  fc.oneof(
    { weight: 12, arbitrary: fc.constant(0) },
    { weight: 4, arbitrary: fc.integer({ min: 1, max: 64 * 1024 }) },
    ...caps.map((cap) => ({ weight: 1, arbitrary: fc.integer({ min: cap - 4096, max: cap + 4096 }) })),
  );

const tokenAnswer = (): fc.Arbitrary<TokenAnswer> =>
  fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record({
        kind: fc.constant('token' as const),
        bytes: fc.oneof(fc.integer({ min: 8, max: 4096 }), fc.integer({ min: 512 * 1024, max: 2 * MiB })),
        field: fc.constantFrom('token' as const, 'access_token' as const),
      }),
    },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom(
          {},
          { token: 12345 },
          { token: null },
          { token: '' },
          { access_token: [] },
          [],
          'token',
          null,
        )
        .map((json) => ({ kind: 'json', json }) as TokenAnswer),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'not-json' } as TokenAnswer) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(500, 503).map((status) => ({ kind: 'status', status }) as TokenAnswer),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'stall' } as TokenAnswer) },
  );

/** True when the token answer or challenge cannot yield a usable token (a refusal, not an outage). */
export function authRefuses(auth: Auth): boolean {
  if (auth.kind === 'none') return false;
  if (auth.challenge !== 'valid') return true;
  return auth.answer.kind === 'json' || auth.answer.kind === 'not-json';
}

/**
 * One image's scenario; `open` leaves out the known-open classes (known-open.ts: none is open now;
 * the parameter stays for the next class found).
 */
export function imageScenario(_open: ReadonlySet<KnownOpenClass>): fc.Arbitrary<ImageScenario> {
  const docs = Object.keys(PATHS) as Doc[];
  const deliveryDocs: Doc[] = [...docs, 'token'];
  const base = fc.record({
    onError: fc.constantFrom('allow' as const, 'deny' as const),
    attest: fc.boolean(),
    pinned: fc.boolean(),
    index: fc.option(
      fc.record({
        othersFirst: fc.boolean(),
        others: fc.array(fc.constantFrom(...CANONICAL_OTHERS, ...SPELLINGS), {
          maxLength: 4,
        }),
      }),
      { nil: undefined, freq: 3 },
    ),
    layers: fc.record({
      count: fc.oneof(
        { weight: 9, arbitrary: fc.integer({ min: 1, max: 8 }) },
        { weight: 1, arbitrary: fc.integer({ min: 1000, max: 1100 }) },
      ),
      bigDeclared: fc.integer({ min: 0, max: 4 }).map((x) => x === 0),
    }),
    pad: fc.record({
      manifest: padArb([4 * MiB]),
      config: padArb([8 * MiB]),
      sigPayload: padArb([1 * MiB]),
      predicate: padArb([1 * MiB, 12 * MiB]),
    }),
    sig: fc.record({
      kind: fc.oneof(
        { weight: 6, arbitrary: fc.constant('valid' as const) },
        {
          weight: 4,
          arbitrary: fc.constantFrom(
            'none' as const,
            'wrong-key' as const,
            'other-digest' as const,
            'garbage' as const,
          ),
        },
      ),
      junk: fc.oneof(
        { weight: 8, arbitrary: fc.constant(0) },
        { weight: 2, arbitrary: fc.integer({ min: 1, max: 40 }) },
      ),
    }),
    att: fc.record({
      kind: fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom('att' as const, 'bundle' as const) },
        {
          weight: 4,
          arbitrary: fc.constantFrom(
            'none' as const,
            'wrong-key' as const,
            'wrong-subject' as const,
            'wrong-predicate-type' as const,
            'false-predicate' as const,
          ),
        },
      ),
      repeat: fc.oneof(
        { weight: 8, arbitrary: fc.constant(1) },
        { weight: 2, arbitrary: fc.integer({ min: 2, max: 40 }) },
      ),
    }),
    mutations: fc.oneof(
      { weight: 6, arbitrary: fc.constant([] as Mutation[]) },
      {
        weight: 4,
        arbitrary: fc.array(
          fc.constantFrom(...docs).chain((d) => mutationArb(d, PATHS[d]!)),
          { minLength: 1, maxLength: 3 },
        ),
      },
    ),
    deliveries: fc.oneof(
      { weight: 6, arbitrary: fc.constant({} as Partial<Record<Doc, Delivery>>) },
      {
        weight: 4,
        arbitrary: fc
          .array(
            fc.constantFrom(...deliveryDocs).chain((d) => delivery(d).map((x) => [d, x] as const)),
            { minLength: 1, maxLength: 3 },
          )
          .map((pairs) => Object.fromEntries(pairs) as Partial<Record<Doc, Delivery>>),
      },
    ),
    auth: fc.oneof(
      { weight: 7, arbitrary: fc.constant({ kind: 'none' } as Auth) },
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant('bearer' as const),
          challenge: fc.oneof(
            { weight: 8, arbitrary: fc.constant('valid' as const) },
            {
              weight: 2,
              arbitrary: fc.constantFrom('no-realm' as const, 'garbage' as const, 'huge' as const),
            },
          ),
          answer: tokenAnswer(),
        }),
      },
    ),
    // last: the keys before it draw the same values as before it was added
    slowBodies: fc.oneof(
      { weight: 3, arbitrary: fc.constant({ connections: 0, bytes: 0, everyMs: 1000, fill: false }) },
      {
        weight: 1,
        arbitrary: fc.record({
          connections: fc.integer({ min: 1, max: 300 }),
          bytes: fc.integer({ min: 1024, max: 3 * MiB }),
          everyMs: fc.integer({ min: 5, max: 2000 }),
          fill: fc.boolean(),
        }),
      },
    ),
  });
  return base;
}
