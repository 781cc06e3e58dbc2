import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  digestOf,
  imageDocuments,
  keySignatureDocuments,
  signatureTag,
} from '../../../src/cli/signed-image-builder.js';

describe('signed-image-builder (serve --warm-up and the tests sign images one way)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  it('builds an image whose manifest names its config and layers by digest', () => {
    const layer = Buffer.from('layer');
    const image = imageDocuments({ os: 'linux', architecture: 'amd64' }, [layer]);
    const manifest = JSON.parse(image.manifest.toString()) as {
      config: { digest: string; size: number };
      layers: Array<{ digest: string }>;
    };
    expect(image.digest).toBe(digestOf(image.manifest));
    expect(manifest.config).toMatchObject({
      digest: digestOf(image.blobs[0]!),
      size: image.blobs[0]!.length,
    });
    expect(manifest.layers.map((l) => l.digest)).toEqual([digestOf(layer)]);
  });

  it('signs repository@digest as cosign sign --key stores it: the .sig tag, the payload, its signature', () => {
    const image = imageDocuments({ os: 'linux' });
    const sig = keySignatureDocuments('r.example/app', image.digest, (p) => sign('sha256', p, privateKey));
    expect(sig.tag).toBe(signatureTag(image.digest));
    expect(sig.tag).toBe(`${image.digest.replace('sha256:', 'sha256-')}.sig`);
    const [empty, payload] = sig.blobs;
    expect(JSON.parse(payload!.toString())).toEqual({
      critical: {
        identity: { 'docker-reference': 'r.example/app' },
        image: { 'docker-manifest-digest': image.digest },
        type: 'cosign container image signature',
      },
      optional: null,
    });
    const layer = JSON.parse(sig.manifest.toString()) as {
      config: { digest: string };
      layers: Array<{ mediaType: string; digest: string; annotations: Record<string, string> }>;
    };
    expect(layer.config.digest).toBe(digestOf(empty!));
    expect(layer.layers[0]).toMatchObject({
      mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
      digest: digestOf(payload!),
    });
    const signature = Buffer.from(
      layer.layers[0]!.annotations['dev.cosignproject.cosign/signature']!,
      'base64',
    );
    expect(verify('sha256', payload!, publicKey, signature)).toBe(true);
    expect(verify('sha256', Buffer.from(`${payload!.toString()} `), publicKey, signature)).toBe(false);
  });
});
