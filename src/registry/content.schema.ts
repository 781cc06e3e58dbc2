/**
 * The shapes of the JSON a registry serves that imagegate reads: manifests (images, indexes, `.sig`
 * and `.att` manifests, referrers indexes), image configs and token answers. Compiled once
 * (content.ts); a document that does not match is a REGISTRY_CONTENT_INVALID finding, so checks
 * only ever see these types. Unknown fields are allowed (registries add their own); a known field of
 * the wrong type (`platform: null`, `history: {}`) is not.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { DIGEST_PATTERN } from '../shared/digest.js';

const Str = Type.String();
const StringMap = Type.Record(Type.String(), Type.String());

export const PlatformSchema = Type.Object({
  os: Str,
  architecture: Str,
  variant: Type.Optional(Str),
  'os.version': Type.Optional(Str),
  'os.features': Type.Optional(Type.Array(Str)),
});

export const DescriptorSchema = Type.Object({
  mediaType: Str,
  // a digest no node would accept (`md5:00`, upper-case hex) would otherwise pass unread
  digest: Type.String({ pattern: DIGEST_PATTERN }),
  size: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  annotations: Type.Optional(StringMap),
  platform: Type.Optional(PlatformSchema),
  artifactType: Type.Optional(Str),
  urls: Type.Optional(Type.Array(Str)),
});

export const ImageManifestSchema = Type.Object({
  schemaVersion: Type.Literal(2),
  mediaType: Type.Optional(Str),
  artifactType: Type.Optional(Str),
  config: DescriptorSchema,
  layers: Type.Array(DescriptorSchema),
  subject: Type.Optional(DescriptorSchema),
  annotations: Type.Optional(StringMap),
});

export const ImageIndexSchema = Type.Object({
  schemaVersion: Type.Literal(2),
  mediaType: Type.Optional(Str),
  artifactType: Type.Optional(Str),
  manifests: Type.Array(DescriptorSchema),
  subject: Type.Optional(DescriptorSchema),
  annotations: Type.Optional(StringMap),
});

export const HistoryEntrySchema = Type.Object({
  created: Type.Optional(Str),
  created_by: Type.Optional(Str),
  comment: Type.Optional(Str),
  author: Type.Optional(Str),
  empty_layer: Type.Optional(Type.Boolean()),
});

/** `null` where Docker's Go encoder writes a nil map or slice (Labels, diff_ids, history). */
const orNull = <T extends TSchema>(t: T) => Type.Optional(Type.Union([t, Type.Null()]));

export const ImageConfigSchema = Type.Object({
  architecture: Type.Optional(Str),
  os: Type.Optional(Str),
  variant: Type.Optional(Str),
  created: Type.Optional(Str),
  config: orNull(Type.Object({ Labels: orNull(StringMap) })),
  rootfs: Type.Optional(Type.Object({ type: Type.Optional(Str), diff_ids: orNull(Type.Array(Str)) })),
  history: orNull(Type.Array(HistoryEntrySchema)),
});

/** The distribution token spec's answer: `token` or `access_token`, and `expires_in` seconds. */
export const TokenAnswerSchema = Type.Object({
  token: Type.Optional(Str),
  access_token: Type.Optional(Str),
  expires_in: Type.Optional(Type.Number()),
});

/** The distribution spec's error body: `{"errors": [{"code", "message"}]}`. */
export const ErrorBodySchema = Type.Object({
  errors: Type.Array(Type.Object({ code: Type.Optional(Str), message: Type.Optional(Str) })),
});

export type ImageManifestShape = Static<typeof ImageManifestSchema>;
export type ImageIndexShape = Static<typeof ImageIndexSchema>;
export type ImageConfigShape = Static<typeof ImageConfigSchema>;
export type TokenAnswerShape = Static<typeof TokenAnswerSchema>;
export type ErrorBodyShape = Static<typeof ErrorBodySchema>;
