/**
 * One run of the base check over one image. Its platforms share the base's resolution, signature
 * verdicts and tag lookups, so each is asked of the registry once per run (never across runs: tags move).
 */
import {
  formatReference,
  repositoryName,
  withDigest,
  type ImageReference,
} from '../../registry/reference.js';
import type { ResolvedImage } from '../../registry/types.js';
import type { CheckInput } from '../check.js';
import type { SignatureVerdict } from '../signature/types.js';
import type { BasePolicy } from './policy.js';

function once<V>(memo: Map<string, Promise<V>>, key: string, make: () => Promise<V>): Promise<V> {
  let p = memo.get(key);
  if (p === undefined) {
    p = make();
    memo.set(key, p);
  }
  return p;
}

export class RunContext {
  /** One clock for every maxAge comparison of the run. */
  readonly now = Date.now();
  private readonly bases = new Map<string, Promise<ResolvedImage>>();
  private readonly verdicts = new Map<string, Promise<SignatureVerdict>>();
  private readonly tags = new Map<string, Promise<string | undefined>>();

  constructor(
    readonly policy: BasePolicy,
    readonly input: CheckInput,
  ) {}

  resolveBase(ref: ImageReference, digest: string): Promise<ResolvedImage> {
    return once(this.bases, `${repositoryName(ref)}@${digest}`, () =>
      this.input.registry.resolve(withDigest(ref, digest), this.input.signal),
    );
  }

  /** The verdict of `policy.entries[entry]`'s authorities (the entry must have a verifier). */
  verifyBase(
    entry: number,
    ref: ImageReference,
    digest: string,
    platformDigest: string | undefined,
  ): Promise<SignatureVerdict> {
    const key = `${entry}|${repositoryName(ref)}@${digest}|${platformDigest ?? ''}`;
    return once(this.verdicts, key, () =>
      this.policy.entries[entry]!.verifier!.verify(
        this.input.registry,
        withDigest(ref, digest),
        digest,
        this.input.signal,
        platformDigest !== undefined ? [platformDigest] : [],
      ),
    );
  }

  /** The digest the tag (or `latest`) points at now; undefined when it cannot be resolved. */
  resolveTag(ref: ImageReference): Promise<string | undefined> {
    const tagged: ImageReference = {
      registry: ref.registry,
      repository: ref.repository,
      tag: ref.tag ?? 'latest',
      original: ref.original,
    };
    return once(this.tags, formatReference(tagged), () =>
      this.input.registry.resolve(tagged, this.input.signal).then(
        (r) => r.digest,
        () => undefined,
      ),
    );
  }
}
