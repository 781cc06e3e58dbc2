/**
 * /mutate: digest pinning. Rewrites every tag-only image to `name:tag@sha256:…` with the digest it
 * resolves to now (JSONPatch). It runs before validation, and validation then checks exactly that
 * digest, so what was checked is what runs. It never denies: an image that cannot be resolved is
 * left as written (with a warning) and the validating webhook decides about it.
 */
import type { RequestFacts } from '../admission/facts.js';
import { MAX_WARNING_LENGTH, toPatchResponse, toUnchangedResponse } from '../admission/response.js';
import type { AuditImage } from '../audit/record.js';
import { ImagegateError, errorMessage } from '../errors.js';
import { parseReference } from '../registry/reference.js';
import { toReviewResult, type ReviewContext, type ReviewResult } from './result.js';

interface PatchOp {
  op: 'replace';
  path: string;
  value: string;
}

export async function pinDigests(facts: RequestFacts, context: ReviewContext): Promise<ReviewResult> {
  const { engine, signal, deadline, started } = context;
  if (facts.operation !== 'CREATE' && facts.operation !== 'UPDATE') {
    return toReviewResult(facts, toUnchangedResponse(facts.uid), {
      wouldDeny: false,
      skipped: `mutate: operation ${facts.operation}`,
      images: [],
      started,
    });
  }
  const images = facts.images();
  // Resolve with the pod's own pull credentials, as the validating path and the kubelet do.
  const registry = await engine.registry?.({
    namespace: facts.namespace,
    ...facts.pullIdentity(),
    deadline,
  });
  const patch: PatchOp[] = [];
  const warnings: string[] = [];
  const audited: AuditImage[] = [];
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
          `imagegate: ${c.image} was not pinned to a digest (${code}): ${errorMessage(err)}`.slice(
            0,
            MAX_WARNING_LENGTH,
          ),
        );
      }
    }),
  );
  registry?.release?.(); // resolved: this review's registry bytes no longer count against the budget
  patch.sort((a, b) => a.path.localeCompare(b.path));
  return toReviewResult(facts, toPatchResponse(facts.uid, patch, warnings), {
    wouldDeny: false,
    skipped: `mutate: pinned ${patch.length} image(s)`,
    images: audited,
    started,
  });
}
