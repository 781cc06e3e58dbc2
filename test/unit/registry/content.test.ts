import { describe, expect, it } from 'vitest';
import { parseConfig, parseManifest } from '../../../src/registry/content.js';
import { describeErrorBody } from '../../../src/registry/http.js';
import { parseTokenResponse } from '../../../src/registry/auth.js';
import { DEFAULT_LIMITS } from '../../../src/registry/limits.js';

const bytes = (v: unknown): Uint8Array => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const desc = {
  mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
  digest: `sha256:${'a'.repeat(64)}`,
  size: 1,
};

describe('registry JSON at the edge', () => {
  describe('when a config field has the wrong type', () => {
    it.each([
      ['history: {}', { history: {} }],
      ['history: 12345', { history: 12345 }],
      ['history: [null]', { history: [null] }],
      ['created_by: 7', { history: [{ created_by: 7 }] }],
      ['rootfs.diff_ids: "x"', { rootfs: { diff_ids: 'x' } }],
      ['config.Labels: []', { config: { Labels: [] } }],
      ['os: 1', { os: 1, architecture: 'amd64' }],
      ['an array', []],
      ['not JSON', '{'],
    ])('%s is REGISTRY_CONTENT_INVALID, not a TypeError later', (_, config) => {
      expect(() => parseConfig(bytes(config), 'config x')).toThrowWithCode('REGISTRY_CONTENT_INVALID', {
        indeterminate: false,
      });
    });

    it('accepts the nulls Docker writes (Labels, diff_ids, history) and unknown fields', () => {
      expect(
        parseConfig(
          bytes({ config: { Labels: null }, rootfs: { diff_ids: null }, history: null, x: 1 }),
          'c',
        ),
      ).toMatchObject({ history: null });
    });
  });

  describe('when rootfs.diff_ids holds something other than sha256 layer digests', () => {
    const D = `sha256:${'0'.repeat(64)}`;
    it.each([
      ['free text', ['base'], 0, '"base"'],
      ['an empty string', [''], 0, '""'],
      ['a digest of 3 characters', ['sha256:xyz'], 0, '"sha256:xyz"'],
      ['upper-case hex', [`sha256:${'A'.repeat(64)}`], 0, `"sha256:${'A'.repeat(64)}"`],
      ['another algorithm', ['md5:00'], 0, '"md5:00"'],
      ['a digest with a newline', [`${D}\n`], 0, JSON.stringify(`${D}\n`)],
      ['a good one, then a bad one', [D, 'sha256:'], 1, '"sha256:"'],
    ])(
      '%s is REGISTRY_CONTENT_INVALID naming the entry, what it is and what was wanted',
      (_, ids, i, found) => {
        expect(() =>
          parseConfig(bytes({ rootfs: { type: 'layers', diff_ids: ids } }), 'config sha256:cc'),
        ).toThrowWithCode('REGISTRY_CONTENT_INVALID', {
          indeterminate: false,
          message: `config sha256:cc: the registry served a malformed image config: rootfs.diff_ids[${i}] is ${found}, wanted a layer digest (sha256: and 64 lowercase hex digits, the uncompressed layer's digest the base-image check compares); ask the image's publisher to rebuild it`,
        });
      },
    );

    it('shows at most 80 characters of a long one', () => {
      expect(() => parseConfig(bytes({ rootfs: { diff_ids: ['x'.repeat(100_000)] } }), 'c')).toThrowWithCode(
        'REGISTRY_CONTENT_INVALID',
        /rootfs\.diff_ids\[0\] is "x{80}"… \(100000 characters\), wanted a layer digest/,
      );
    });

    it('accepts sha256 digests and an empty list', () => {
      expect(
        parseConfig(bytes({ rootfs: { diff_ids: [D, `sha256:${'f'.repeat(64)}`] } }), 'c').rootfs?.diff_ids,
      ).toHaveLength(2);
      expect(parseConfig(bytes({ rootfs: { diff_ids: [] } }), 'c').rootfs?.diff_ids).toEqual([]);
    });
  });

  describe('when a manifest or index field has the wrong type', () => {
    it.each([
      ['platform: null', { schemaVersion: 2, manifests: [{ ...desc, platform: null }] }],
      ['manifests: {}', { schemaVersion: 2, manifests: {} }],
      ['size: "1"', { schemaVersion: 2, manifests: [{ ...desc, size: '1' }] }],
      ['size: 1.5', { schemaVersion: 2, config: desc, layers: [{ ...desc, size: 1.5 }] }],
      [
        'annotations: {a: 1}',
        { schemaVersion: 2, config: desc, layers: [{ ...desc, annotations: { a: 1 } }] },
      ],
      ['layers: null', { schemaVersion: 2, config: desc, layers: null }],
      ['a layer digest md5:00', { schemaVersion: 2, config: desc, layers: [{ ...desc, digest: 'md5:00' }] }],
      [
        'an upper-case layer digest',
        { schemaVersion: 2, config: desc, layers: [{ ...desc, digest: `sha256:${'A'.repeat(64)}` }] },
      ],
      ['an entry digest 12345', { schemaVersion: 2, manifests: [{ ...desc, digest: 12345 }] }],
    ])('%s is REGISTRY_CONTENT_INVALID', (_, doc) => {
      expect(() => parseManifest(bytes(doc), 'sha256:bb', undefined, 'm', DEFAULT_LIMITS)).toThrowWithCode(
        'REGISTRY_CONTENT_INVALID',
      );
    });
  });

  it('accepts the same documents with well-formed digests (the cases above fail for their field)', () => {
    expect(
      parseManifest(
        bytes({ schemaVersion: 2, config: desc, layers: [desc] }),
        'sha256:bb',
        undefined,
        'm',
        DEFAULT_LIMITS,
      ),
    ).toMatchObject({ kind: 'image' });
    expect(
      parseManifest(
        bytes({ schemaVersion: 2, manifests: [desc] }),
        'sha256:bb',
        undefined,
        'm',
        DEFAULT_LIMITS,
      ),
    ).toMatchObject({ kind: 'index' });
  });

  describe('when a document lists more entries than its budget', () => {
    // the last entry is malformed: the budget answers first, so no entry was walked before it
    const many = (n: number) => [...Array<object>(n - 1).fill(desc), { ...desc, digest: 'md5:00' }];

    it('denies a 20,000-entry index with BUDGET_INDEX_MANIFESTS before its entries are checked', () => {
      const doc = bytes({ schemaVersion: 2, manifests: many(20_000) });
      expect(() => parseManifest(doc, 'sha256:bb', undefined, 'm', DEFAULT_LIMITS)).toThrowWithCode(
        'BUDGET_INDEX_MANIFESTS',
        {
          indeterminate: false,
          message: expect.stringMatching(/lists 20000 manifests, more than the 1024 .*maxManifestsPerIndex/),
        },
      );
    });

    it('denies 20,000 layers with BUDGET_LAYERS before they are checked', () => {
      const doc = bytes({ schemaVersion: 2, config: desc, layers: many(20_000) });
      expect(() => parseManifest(doc, 'sha256:bb', undefined, 'm', DEFAULT_LIMITS)).toThrowWithCode(
        'BUDGET_LAYERS',
        { indeterminate: false, message: expect.stringMatching(/20000 layers, more than the 1024/) },
      );
    });

    it('checks the entries of an index at the budget (the malformed last one is found)', () => {
      const doc = bytes({ schemaVersion: 2, manifests: many(1024) });
      expect(() => parseManifest(doc, 'sha256:bb', undefined, 'm', DEFAULT_LIMITS)).toThrowWithCode(
        'REGISTRY_CONTENT_INVALID',
      );
    });
  });

  describe('when an error body or a token answer is hostile', () => {
    it('describes only a well-typed error body, in bounded text', () => {
      expect(describeErrorBody('{"errors":[{"code":"DENIED","message":"no"}]}')).toBe('DENIED no');
      expect(describeErrorBody('null')).toBe('null');
      expect(describeErrorBody('{"errors":[{"code":{"a":1}}]}')).toBe('{"errors":[{"code":{"a":1}}]}');
      expect(describeErrorBody(JSON.stringify({ errors: [{ message: 'x'.repeat(1e6) }] })).length).toBe(200);
    });

    it('reads no token from a wrongly typed answer', () => {
      expect(parseTokenResponse('{"token":12345}')).toBeUndefined();
      expect(parseTokenResponse('{"token":"t","expires_in":"60"}')).toBeUndefined();
      expect(parseTokenResponse('{"access_token":"t","expires_in":60}')).toMatchObject({ token: 't' });
    });
  });
});
