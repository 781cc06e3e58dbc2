/**
 * The built-in default used when no policy is given: safe for any cluster. Audit mode never denies;
 * it warns about images referenced by tag only (the tag can move between admission and pull).
 */
import type { ImagePolicyDocument } from './policy.schema.js';
import { validatePolicyDocument } from './validate.js';

export const BUILTIN_POLICY: ImagePolicyDocument = validatePolicyDocument(
  {
    apiVersion: 'imagegate.dev/v1alpha1',
    kind: 'ImagePolicy',
    metadata: { name: 'imagegate-default' },
    spec: {
      mode: 'audit',
      images: [{ glob: '**' }],
      requireDigest: true,
      onError: 'allow',
    },
  },
  'built-in default policy',
);
