/** The bytes of an OCI image manifest, as a registry stores them, for tests that build images by hand. */

/** `config` is the config blob's descriptor (an OCI image config); `layers` the layer descriptors. */
export function ociImageManifest(
  config: { digest: string; size: number },
  layers: readonly object[] = [],
): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers,
    }),
  );
}
