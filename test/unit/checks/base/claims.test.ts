import { describe, expect, it } from 'vitest';
import { annotationClaim, materialImage, provenanceMaterials } from '../../../../src/checks/base/claims.js';
import { checkLayerPrefix, parseMaxAge, shortDigest } from '../../../../src/checks/base/layers.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const C = `sha256:${'c'.repeat(64)}`;

describe('annotationClaim', () => {
  it('reads base.name and base.digest', () => {
    const r = annotationClaim(
      {
        'org.opencontainers.image.base.name': 'cgr.dev/chainguard/node:latest',
        'org.opencontainers.image.base.digest': A,
      },
      'index',
    );
    expect(r).toMatchObject({
      kind: 'claim',
      claim: {
        source: 'annotation on the index',
        digest: A,
        reference: { registry: 'cgr.dev', tag: 'latest' },
      },
    });
  });

  it('keeps a tag-only claim without digest', () => {
    const r = annotationClaim({ 'org.opencontainers.image.base.name': 'alpine:3.20' }, 'index');
    expect(r).toMatchObject({ kind: 'claim', claim: { name: 'alpine:3.20' } });
    expect(r.kind === 'claim' ? r.claim.digest : 'no claim').toBeUndefined();
  });

  describe('when the name and the digest disagree', () => {
    it('is inconsistent when the name carries another digest', () => {
      const r = annotationClaim(
        {
          'org.opencontainers.image.base.name': `cgr.dev/chainguard/node@${A}`,
          'org.opencontainers.image.base.digest': B,
        },
        'platform manifest',
      );
      expect(r).toMatchObject({
        kind: 'inconsistent',
        message: expect.stringContaining('two different digests'),
      });
    });

    it('is inconsistent when the name is not a reference or the digest is not a digest', () => {
      expect(annotationClaim({ 'org.opencontainers.image.base.name': 'Not A Ref' }, 'index').kind).toBe(
        'inconsistent',
      );
      expect(
        annotationClaim(
          {
            'org.opencontainers.image.base.name': 'alpine',
            'org.opencontainers.image.base.digest': 'sha256:xyz',
          },
          'index',
        ).kind,
      ).toBe('inconsistent');
    });
  });

  it('ignores a digest without a name, with a note', () => {
    expect(annotationClaim({ 'org.opencontainers.image.base.digest': A }, 'index')).toMatchObject({
      kind: 'none',
      note: expect.stringContaining('without a base name'),
    });
  });
});

describe('provenance materials', () => {
  it('reads v0.2 materials and v1 resolvedDependencies', () => {
    const v02 = {
      _type: 'https://in-toto.io/Statement/v0.1',
      subject: [],
      predicateType: 'https://slsa.dev/provenance/v0.2',
      predicate: {
        materials: [
          { uri: 'pkg:docker/alpine@3.20?platform=linux%2Famd64', digest: { sha256: 'a'.repeat(64) } },
        ],
      },
    };
    const v1 = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [],
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: {
        buildDefinition: { resolvedDependencies: [{ uri: 'git+https://x/y@main' }, { uri: 'z' }] },
      },
    };
    expect(provenanceMaterials(v02)).toHaveLength(1);
    expect(provenanceMaterials(v1).map((m) => m.uri)).toEqual(['git+https://x/y@main', 'z']);
  });

  it.each([
    [
      'pkg:docker/alpine@3.20?platform=linux%2Famd64',
      { sha256: 'a'.repeat(64) },
      'docker.io/library/alpine',
      A,
    ],
    ['pkg:docker/cgr.dev/chainguard/node@latest', { sha256: 'b'.repeat(64) }, 'cgr.dev/chainguard/node', B],
    [
      `pkg:docker/chainguard/node@${encodeURIComponent(C)}?repository_url=cgr.dev`,
      undefined,
      'cgr.dev/chainguard/node',
      C,
    ],
    [`docker-image://ghcr.io/acme/base@${A}`, undefined, 'ghcr.io/acme/base', A],
    [`registry.example.com/base/static@${B}`, undefined, 'registry.example.com/base/static', B],
  ])('%s names an image with a digest', (uri, digest, repo, want) => {
    const m = materialImage({ uri, ...(digest !== undefined ? { digest } : {}) });
    expect(m && `${m.reference.registry}/${m.reference.repository}`).toBe(repo);
    expect(m?.digest).toBe(want);
  });

  it.each([
    ['git+https://github.com/acme/app@refs/heads/main', { gitCommit: 'abc' }],
    ['pkg:docker/alpine@3.20', undefined],
    ['https://example.com/file.tar.gz', { sha256: 'a'.repeat(64) }],
    [`pkg:docker/alpine@${encodeURIComponent(A)}`, { sha256: 'b'.repeat(64) }],
  ])('%s is not usable', (uri, digest) => {
    expect(materialImage({ uri, ...(digest !== undefined ? { digest } : {}) })).toBeUndefined();
  });
});

describe('checkLayerPrefix', () => {
  const cfg = (ids: string[]) => ({ rootfs: { type: 'layers', diff_ids: ids } });
  it('accepts an exact prefix', () => {
    expect(checkLayerPrefix(cfg([A, B, C]), cfg([A, B]))).toEqual({ ok: true, baseLayers: 2 });
    expect(checkLayerPrefix(cfg([A]), cfg([A]))).toEqual({ ok: true, baseLayers: 1 });
  });
  it('names the first differing diff_id', () => {
    const r = checkLayerPrefix(cfg([A, C]), cfg([A, B]));
    expect(r).toEqual({
      ok: false,
      reason: `image diff_ids[1] ${shortDigest(C)} ≠ base diff_ids[1] ${shortDigest(B)} — the image is not built on the claimed base`,
    });
  });
  it('rejects a shorter image and an empty base', () => {
    expect(checkLayerPrefix(cfg([A]), cfg([A, B])).ok).toBe(false);
    expect(checkLayerPrefix(cfg([A]), cfg([]))).toMatchObject({
      ok: false,
      reason: expect.stringContaining('no layers'),
    });
  });
});

describe('parseMaxAge', () => {
  it('parses units', () => {
    expect(parseMaxAge('30d', 'x')).toBe(30 * 86_400_000);
    expect(parseMaxAge('2w', 'x')).toBe(14 * 86_400_000);
    expect(() => parseMaxAge('0d', 'x')).toThrow(/positive/);
    expect(() => parseMaxAge('1y', 'x')).toThrow(/duration/);
  });
});
