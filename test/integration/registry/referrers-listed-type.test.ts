/**
 * A tag fallback index lists each referrer with the artifactType its pusher wrote, and cosign 2
 * (go-containerregistry) writes the config's type there, `application/vnd.oci.empty.v1+json`, for a
 * Sigstore bundle: the bundle must still be found (the cosign differential suite caught imagegate
 * missing every cosign 2 `--new-bundle-format` signature on distribution 2.8), and another artifact
 * listed the same way must be skipped, not reported as a malformed signature.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchCandidates } from '../../../src/checks/signature/fetch.js';
import { createRegistry, type Registry } from '../../../src/registry/client.js';
import { parseReference } from '../../../src/registry/reference.js';
import { OCI_EMPTY } from '../../../src/registry/referrers.js';
import {
  buildImage,
  pushBlob,
  pushImage,
  pushManifest,
  type Blob,
  sha256,
} from '../../helpers/image-builder.js';
import { useRegistry } from '../../helpers/use-registry.js';

const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const EMPTY = Buffer.from('{}');

/** The bundle cosign 2.6.5 `sign --key … --tlog-upload=false --new-bundle-format` stored. */
const COSIGN2_BUNDLE = {
  mediaType: BUNDLE,
  verificationMaterial: { publicKey: { hint: 'y9CsbjBVdmE77yUo/D9VVimzrSadszB/f1qtfkXbDec=' } },
  dsseEnvelope: {
    payload: Buffer.from('{"_type":"https://in-toto.io/Statement/v1","subject":[]}').toString('base64'),
    payloadType: 'application/vnd.in-toto+json',
    signatures: [
      {
        sig: 'MEUCIQCVl3If9N2YFkmFxZsDbhfb9PHv7Xiq7a2TSJ5GljXqmgIgRZsegW1fRJyKNVAFXwAL5yT+RcCWgmHGbSyLQb0cTOY=',
      },
    ],
  },
};

const blob = (mediaType: string, bytes: Buffer): Blob => ({
  mediaType,
  digest: sha256(bytes),
  size: bytes.length,
  bytes,
});

describe('referrers listed in a tag fallback index without a telling artifactType', () => {
  const reg = useRegistry();
  let client: Registry;
  let subject: Blob;
  const referrers: Record<'bundle' | 'sbom', Blob> = {} as Record<'bundle' | 'sbom', Blob>;

  beforeAll(async () => {
    const img = buildImage({ steps: [{ createdBy: 'ADD id /', files: { id: 'listed-type' } }] });
    await pushImage(reg.url, 'app', 'v1', img);
    subject = img.manifest;
    const push = async (artifactType: string, layerType: string, content: Buffer): Promise<Blob> => {
      const layer = blob(layerType, content);
      for (const b of [blob(OCI_EMPTY, EMPTY), layer]) await pushBlob(reg.url, 'app', b);
      const manifest = blob(
        OCI_MANIFEST,
        Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: OCI_MANIFEST,
            artifactType,
            config: { mediaType: OCI_EMPTY, digest: sha256(EMPTY), size: EMPTY.length },
            layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }],
            subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
          }),
        ),
      );
      await pushManifest(reg.url, 'app', manifest.digest, manifest);
      return manifest;
    };
    referrers.bundle = await push(BUNDLE, BUNDLE, Buffer.from(JSON.stringify(COSIGN2_BUNDLE)));
    referrers.sbom = await push(
      'application/spdx+json',
      'application/spdx+json',
      Buffer.from('{"spdxVersion":"SPDX-2.3"}'),
    );
    // As go-containerregistry writes it: each entry's artifactType is the config's media type.
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [referrers.sbom, referrers.bundle].map((m) => ({
          mediaType: OCI_MANIFEST,
          digest: m.digest,
          size: m.size,
          artifactType: OCI_EMPTY,
        })),
      }),
    );
    await pushManifest(reg.url, 'app', subject.digest.replace(':', '-'), blob(OCI_INDEX, index));
    client = createRegistry({ registries: { [reg.host]: { insecure: true } } });
  });
  afterAll(async () => {
    await client?.close();
  });

  it('finds the bundle and skips the other artifact', async () => {
    const ref = parseReference(`${reg.host}/app:v1`);
    const found = await fetchCandidates(
      client.access(),
      ref,
      subject.digest,
      { attestations: false },
      AbortSignal.timeout(10_000),
    );
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      ok: true,
      format: 'sigstore-bundle',
      source: `referrer ${referrers.bundle.digest}`,
    });
  });

  it('keeps such entries for any typed lookup: their manifest tells the type', async () => {
    const ref = parseReference(`${reg.host}/app:v1`);
    const listed = await client
      .access()
      .getReferrers(ref, subject.digest, BUNDLE, AbortSignal.timeout(10_000));
    expect(listed.map((d) => d.digest).sort()).toEqual(
      [referrers.bundle.digest, referrers.sbom.digest].sort(),
    );
    const other = await client
      .access()
      .getReferrers(ref, subject.digest, 'application/vnd.example.other', AbortSignal.timeout(10_000));
    expect(other).toHaveLength(2); // still unlabelled: kept for the caller to read
  });
});
