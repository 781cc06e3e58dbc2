import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../../src/registry/content.js';
import { DEFAULT_LIMITS } from '../../../src/registry/limits.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const d = { mediaType: 'application/octet-stream', digest: `sha256:${'a'.repeat(64)}`, size: 1 };
const parse = (doc: object, contentType?: string) =>
  parseManifest(
    Buffer.from(JSON.stringify(doc)),
    `sha256:${'b'.repeat(64)}`,
    contentType,
    'manifest x',
    DEFAULT_LIMITS,
  );

describe('parseManifest: content must be what its media type says', () => {
  it('reads an image manifest and an index as before, with or without a mediaType field', () => {
    expect(
      parse({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: d, layers: [d] }, OCI_MANIFEST).kind,
    ).toBe('image');
    expect(parse({ schemaVersion: 2, config: d, layers: [] }).kind).toBe('image');
    expect(parse({ schemaVersion: 2, manifests: [d] }, DOCKER_LIST).kind).toBe('index');
    expect(parse({ schemaVersion: 2, manifests: [] }, 'application/json').kind).toBe('index');
  });

  it.each([
    ['manifests and layers at once', { schemaVersion: 2, config: d, layers: [d], manifests: [d] }, undefined],
    ['manifests and a config at once', { schemaVersion: 2, config: d, manifests: [d] }, undefined],
    [
      'an image manifest declared as an index',
      { schemaVersion: 2, mediaType: OCI_INDEX, config: d, layers: [] },
      undefined,
    ],
    [
      'an index declared as an image manifest',
      { schemaVersion: 2, mediaType: OCI_MANIFEST, manifests: [d] },
      undefined,
    ],
    [
      'an index served with an image manifest Content-Type',
      { schemaVersion: 2, manifests: [d] },
      OCI_MANIFEST,
    ],
    [
      'an image manifest served with an index Content-Type',
      { schemaVersion: 2, config: d, layers: [] },
      DOCKER_LIST,
    ],
  ])('refuses %s with MANIFEST_MEDIA_TYPE_MISMATCH', (_name, doc, contentType) => {
    expect(() => parse(doc, contentType)).toThrowWithCode('MANIFEST_MEDIA_TYPE_MISMATCH', {
      indeterminate: false,
    });
  });
});
