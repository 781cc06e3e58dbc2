/** The `base` policy section's schema piece (also the CRD's, through policy.schema.ts). */
import { Type, type Static } from '@sinclair/typebox';
import { Duration, SignatureSpec } from '../signature/schema.js';

const strict = { additionalProperties: false } as const;

export const BaseAllowed = Type.Object(
  {
    image: Type.String({ minLength: 1, maxLength: 512, description: 'Glob over the base image reference.' }),
    signature: Type.Optional(SignatureSpec),
    candidates: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 512 }), {
        maxItems: 16,
        description: 'Tagged references whose current digests are tried when an image makes no base claim.',
      }),
    ),
  },
  strict,
);

export const BaseSpec = Type.Object(
  {
    allowed: Type.Array(BaseAllowed, { minItems: 1, maxItems: 64 }),
    proof: Type.Optional(Type.Union([Type.Literal('claim'), Type.Literal('signed'), Type.Literal('layers')])),
    maxAge: Type.Optional(Duration),
  },
  strict,
);

export type BaseSpec = Static<typeof BaseSpec>;
export type BaseAllowed = Static<typeof BaseAllowed>;
