/**
 * Load-time validation of image globs against the grammar of normalised references
 * (`registry/repository[:tag][@digest]`, what globs are matched against). A glob that can never
 * match one — `nginx*`, `library/**`, `https://…`, an uppercase repository — would load without a
 * word and then govern nothing, so it is refused with the form that does what was meant
 * (`docker.io/library/nginx*`). Spellings of a registry host that name the same registry
 * (`Registry.Example.com`, `:443`, `127.1`) are not refused: glob.ts canonicalises them like
 * references (docs/policy.md, "Image globs").
 */
import { canonicalHost } from '../shared/host.js';
import { globHasVersion } from './glob.js';
import { exampleMatch } from './glob-feasible.js';
import type { ImagePolicyDocument } from './policy.schema.js';

const REPOSITORY_SEGMENT = /^[a-z0-9._*-]+$/;
const VERSION = /^(?::[\w.*-]+)?(?:@[a-z0-9*]+:[a-f0-9*]+)?$/;
const WILDCARD_HOST = /^[a-z0-9.*:[\]-]+$/;

/** The CLI's registry name for local OCI layouts (registry/layout.ts LAYOUT_REGISTRY; policy/ may not import it). */
const LAYOUT_REGISTRY = 'oci-layout';

/** As references decide it, plus `oci-layout`. */
function looksLikeHost(segment: string): boolean {
  return (
    segment.includes('.') ||
    segment.includes(':') ||
    segment.startsWith('[') ||
    segment === 'localhost' ||
    segment === LAYOUT_REGISTRY
  );
}

/** Where the tag or digest starts in a glob with a version (after the last `/`), else its length. */
function versionStart(glob: string): number {
  if (!globHasVersion(glob)) return glob.length;
  const lastSlash = glob.lastIndexOf('/');
  const rest = glob.slice(lastSlash + 1);
  const at = [rest.indexOf(':'), rest.indexOf('@')].filter((i) => i >= 0);
  return lastSlash + 1 + Math.min(...at);
}

function never(glob: string, why: string, suggestion?: string): string {
  return `"${glob}" can never match: ${why}${suggestion !== undefined ? `; write "${suggestion}"` : ''}`;
}

/**
 * Undefined when the glob can match some normalised reference; otherwise what is wrong with it
 * and, when one is evident, the glob that was probably meant. Whether it can match is decided by
 * searching the matcher's own steps (glob-feasible.ts), so the check and the matcher agree; the
 * reading by segments below only explains a refusal (a `**` inside a segment spans `/`, which it
 * does not model), except for what a search cannot know: a literal registry host that is not valid.
 */
export function checkImageGlob(glob: string): string | undefined {
  const problem = explainImageGlob(glob);
  if (problem?.certain === true) return problem.text;
  if (exampleMatch(glob) !== undefined) return undefined;
  return problem?.text ?? never(glob, 'no normalised reference (registry/repository[:tag][@digest]) fits it');
}

interface Explanation {
  text: string;
  /** True when no reference can match whatever the search says (it does not parse hosts or ports). */
  certain?: boolean;
}

function explainImageGlob(glob: string): Explanation | undefined {
  const text = explainBySegments(glob);
  if (text === undefined) return undefined;
  const host = glob.slice(0, Math.max(glob.indexOf('/'), 0));
  const literalHost = host !== '' && !host.includes('*');
  const certain =
    /\s/.test(glob) ||
    /^[a-z][a-z0-9+.-]*:\/\//i.test(glob) ||
    (literalHost && (canonicalHost(host) === undefined || /[^a-zA-Z0-9.:[\]-]/.test(host)));
  return { text, certain };
}

/** Why a glob cannot match, read segment by segment (see checkImageGlob). */
function explainBySegments(glob: string): string | undefined {
  if (/\s/.test(glob)) return never(glob, 'it contains whitespace');
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(glob);
  if (scheme !== null) {
    return never(glob, 'globs name images (registry/repository), not URLs', glob.slice(scheme[0].length));
  }
  const split = versionStart(glob);
  const name = glob.slice(0, split);
  const version = glob.slice(split);
  if (!VERSION.test(version))
    return never(glob, `"${version}" is not a tag (:tag) or digest (@algorithm:hex)`);
  const segments = name.split('/');
  if (segments.some((s) => s === '')) return never(glob, 'it has an empty path segment');
  const host = segments[0]!;
  const repository = segments.slice(1);
  if (host === '**') return checkRepository(glob, repository);
  if (!looksLikeHost(host) && (!host.includes('*') || segments.length === 1)) {
    const hub = segments.length === 1 || host === 'library' ? 'docker.io/library/' : 'docker.io/';
    const suggestion = `${hub}${segments.length === 1 ? glob : glob.slice(host === 'library' ? 8 : 0)}`;
    return never(
      glob,
      `images are matched by their normalised name, which starts with the registry ("nginx:1.27" is "docker.io/library/nginx:1.27")`,
      suggestion,
    );
  }
  if (host.includes('*')) {
    if (!WILDCARD_HOST.test(host.toLowerCase()))
      return never(glob, `"${host}" is not a registry host pattern`);
  } else if (canonicalHost(host) === undefined || /[^a-zA-Z0-9.:[\]-]/.test(host)) {
    return never(glob, `"${host}" is not a valid registry host[:port]`);
  }
  if (repository.length === 0) {
    return never(glob, 'it names a registry but no repository', `${glob}/**`);
  }
  const problem = checkRepository(glob, repository);
  if (problem !== undefined) return problem;
  if (canonicalHost(host) === 'docker.io' && repository.length === 1 && !repository[0]!.includes('**')) {
    return never(
      glob,
      'Docker Hub names have an organisation ("nginx" is "docker.io/library/nginx")',
      `docker.io/library/${glob.slice(glob.indexOf('/') + 1)}`,
    );
  }
  return undefined;
}

function checkRepository(glob: string, repository: readonly string[]): string | undefined {
  for (const segment of repository) {
    if (segment === '**' || REPOSITORY_SEGMENT.test(segment)) continue;
    if (REPOSITORY_SEGMENT.test(segment.toLowerCase())) {
      const slash = glob.indexOf('/');
      return never(
        glob,
        'repository names are lowercase',
        `${glob.slice(0, slash + 1)}${glob.slice(slash + 1, versionStart(glob)).toLowerCase()}${glob.slice(versionStart(glob))}`,
      );
    }
    return never(glob, `"${segment}" has characters a repository name cannot hold (a-z 0-9 . _ -)`);
  }
  return undefined;
}

/** Every image glob of a policy (images, exclude, base.allowed) with its problem, as `field: problem`. */
export function imageGlobProblems(spec: ImagePolicyDocument['spec']): string[] {
  const fields: [string, string][] = [
    ...spec.images.map((g, i): [string, string] => [`spec.images[${i}].glob`, g.glob]),
    ...(spec.exclude ?? []).map((g, i): [string, string] => [`spec.exclude[${i}].glob`, g.glob]),
    ...(spec.base?.allowed ?? []).map((a, i): [string, string] => [`spec.base.allowed[${i}].image`, a.image]),
  ];
  return fields.flatMap(([field, glob]) => {
    const problem = checkImageGlob(glob);
    return problem === undefined ? [] : [`${field}: ${problem}`];
  });
}
