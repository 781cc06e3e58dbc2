/**
 * Anchored image globs: `*` matches within one path segment, `**` matches any number of segments
 * (including none, when written as a whole segment). Matched against `registry/repository`, so
 * `registry.example.com/*` never matches `registry.example.com.evil.io/x`.
 *
 * A glob may carry a tag or digest (`repo:1.*`, `repo@sha256:…`); then the full normalised
 * reference is matched instead of the repository name.
 */

export type GlobMatcher = (subject: string) => boolean;

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

export function compileGlob(glob: string): GlobMatcher {
  let re = '';
  const segments = glob.split('/');
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === '**') {
      // Whole-segment ** matches zero or more segments, and the separator with them.
      re += last ? '.*' : '(?:[^/]+/)*';
      return;
    }
    re += segment
      .split('**')
      .map((part) => part.split('*').map(escapeRegExp).join('[^/]*'))
      .join('.*');
    if (!last) re += '/';
  });
  const regex = new RegExp(`^${re}$`);
  return (subject) => regex.test(subject);
}

/** Glob over namespace names: `*` matches any run of characters (names have no slashes). */
export function compileNameGlob(glob: string): GlobMatcher {
  const regex = new RegExp(`^${glob.split('*').map(escapeRegExp).join('.*')}$`);
  return (subject) => regex.test(subject);
}

/** True when the glob names a tag or digest and must be matched against the full reference. */
export function globHasVersion(glob: string): boolean {
  const lastSegment = glob.slice(glob.lastIndexOf('/') + 1);
  return lastSegment.includes(':') || lastSegment.includes('@');
}
