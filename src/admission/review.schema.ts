/**
 * The AdmissionReview envelope (admission.k8s.io/v1) as far as imagegate reads it. The object itself
 * is validated where it is read (pod-spec.ts): only the fields we use need a shape.
 */
import { Type, type Static } from '@sinclair/typebox';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

const GroupVersionKind = Type.Object({
  group: Type.String(),
  version: Type.String(),
  kind: Type.String({ minLength: 1 }),
});

export const AdmissionRequest = Type.Object({
  uid: Type.String({ minLength: 1, maxLength: 128 }),
  kind: GroupVersionKind,
  resource: Type.Optional(
    Type.Object({ group: Type.String(), version: Type.String(), resource: Type.String() }),
  ),
  subResource: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  namespace: Type.Optional(Type.String()),
  operation: Type.Union([
    Type.Literal('CREATE'),
    Type.Literal('UPDATE'),
    Type.Literal('DELETE'),
    Type.Literal('CONNECT'),
  ]),
  userInfo: Type.Optional(
    Type.Object({
      username: Type.Optional(Type.String()),
      uid: Type.Optional(Type.String()),
    }),
  ),
  object: Type.Optional(Type.Unknown()),
  oldObject: Type.Optional(Type.Unknown()),
  dryRun: Type.Optional(Type.Boolean()),
});

export const AdmissionReviewRequest = Type.Object({
  apiVersion: Type.String(),
  kind: Type.Literal('AdmissionReview'),
  request: AdmissionRequest,
});

export type AdmissionRequest = Static<typeof AdmissionRequest>;
export type AdmissionReviewRequest = Static<typeof AdmissionReviewRequest>;

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; message: string; reason?: string };
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
  patchType?: 'JSONPatch';
  patch?: string;
}

export interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}
