/**
 * /mutate: digest pinning. Rewrites every tag-only image to `name:tag@sha256:…` with the digest it
 * resolves to now (JSONPatch). It runs before validation, and validation then checks exactly that
 * digest, so what was checked is what runs. It never denies: an image that cannot be resolved is
 * left as written (with a warning) and the validating webhook decides about it.
 */
import { imagesOf, podSpecOf, pullIdentityOf } from './admission/pod-spec.js';
import { elapsedMs, toRecordBase } from './audit/record.js';
import type { AdmissionReviewRequest } from './admission/review.schema.js';
import { ADMISSION_API_VERSION } from './admission/review.schema.js';
import type { Engine } from './engine.js';
import { ImagegateError, errorMessage } from './errors.js';
import { parseReference } from './registry/reference.js';
import type { ReviewResult } from './review.js';

interface PatchOp {
  op: 'replace';
  path: string;
  value: string;
}

export async function mutateAdmission(
  review: AdmissionReviewRequest,
  engine: Engine,
  signal: AbortSignal,
  deadline?: number,
): Promise<ReviewResult> {
  const started = performance.now();
  const req = review.request;
  const kind = req.kind.kind;
  const namespace = req.namespace ?? '';
  const record = {
    ...toRecordBase(req, undefined),
    decision: 'allowed' as const,
    wouldDeny: false,
  };
  const base = { uid: req.uid, allowed: true };
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') {
    return {
      response: { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response: base },
      record: { ...record, skipped: `mutate: operation ${req.operation}`, images: [], latencyMs: 0 },
    };
  }
  const images = imagesOf(kind, req.object);
  // Resolve with the pod's own pull credentials, as the validating path and the kubelet do.
  const registry = await engine.registry?.({
    namespace,
    ...pullIdentityOf(podSpecOf(kind, req.object).spec),
    ...(deadline !== undefined ? { deadline } : {}),
  });
  const patch: PatchOp[] = [];
  const warnings: string[] = [];
  const audited: { image: string; reference?: string; digest?: string; policies: []; invalid?: string }[] =
    [];
  const resolutions = new Map<string, Promise<string>>();
  await Promise.all(
    images.map(async (c) => {
      let ref;
      try {
        ref = parseReference(c.image);
      } catch (err) {
        audited.push({ image: c.image, policies: [], invalid: errorMessage(err) });
        return;
      }
      if (ref.digest !== undefined || registry === undefined) return;
      let digest: Promise<string> | undefined = resolutions.get(c.image);
      if (digest === undefined) {
        digest = registry.resolve(ref, signal).then((r) => r.digest);
        resolutions.set(c.image, digest);
      }
      try {
        const d = await digest;
        patch.push({ op: 'replace', path: c.pointer, value: `${c.image}@${d}` });
        audited.push({ image: c.image, digest: d, policies: [] });
      } catch (err) {
        const code = err instanceof ImagegateError ? err.code : 'ERROR';
        audited.push({ image: c.image, policies: [] });
        // Registries outside the allowlist are never contacted: nothing to warn about.
        if (code === 'REGISTRY_NOT_ALLOWED') return;
        warnings.push(
          `imagegate: ${c.image} was not pinned to a digest (${code}): ${errorMessage(err)}`.slice(0, 256),
        );
      }
    }),
  );
  patch.sort((a, b) => a.path.localeCompare(b.path));
  return {
    response: {
      apiVersion: ADMISSION_API_VERSION,
      kind: 'AdmissionReview',
      response: {
        ...base,
        ...(patch.length > 0
          ? { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') }
          : {}),
        ...(warnings.length > 0 ? { warnings } : {}),
        auditAnnotations: { pinned: String(patch.length) },
      },
    },
    record: {
      ...record,
      skipped: `mutate: pinned ${patch.length} image(s)`,
      images: audited,
      latencyMs: elapsedMs(started),
    },
  };
}
