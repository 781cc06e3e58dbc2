/**
 * Anchored image globs: `*` matches within one path segment, `**` matches any number of segments
 * (including none, when written as a whole segment). Matched against `registry/repository`, so
 * `registry.example.com/*` never matches `registry.example.com.evil.io/x`.
 *
 * A glob may carry a tag or digest (`repo:1.*`, `repo@sha256:…`); then the full normalised
 * reference is matched instead of the repository name.
 *
 * The registry host of the glob and of the subject are both reduced with `policyHost` (case,
 * trailing dot, `:443`, IPv4 forms, IPv4-mapped IPv6, loopback names), so every spelling of a
 * registry is governed by a glob written with any other. Matching simulates the glob as an
 * automaton over the subject: O(pattern × subject) steps whatever the glob, never backtracking
 * (a dozen `**` against a deep name cost what one does). Which globs a policy may hold at all is
 * decided by glob-check.ts.
 */
import { policyHost, withPolicyHost } from '../shared/host.js';

export type GlobMatcher = (subject: string) => boolean;

/**
 * One step of a compiled glob: a literal character, `*` (any run without `/`), a `**` inside a
 * segment or as the last segment (any run at all), or a whole `**` segment followed by more
 * segments (zero or more `[^/]+/` groups).
 */
export type GlobStep =
  { kind: 'char'; char: string } | { kind: 'star' } | { kind: 'any' } | { kind: 'segments' };
type Step = GlobStep;

function toSteps(glob: string, anyForStar: boolean): Step[] {
  const steps: Step[] = [];
  const segments = anyForStar ? [glob] : glob.split('/');
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === '**' && !anyForStar) {
      steps.push({ kind: last ? 'any' : 'segments' });
      return;
    }
    for (let j = 0; j < segment.length; j++) {
      const char = segment[j]!;
      if (char !== '*') {
        steps.push({ kind: 'char', char });
      } else if (anyForStar || segment[j + 1] === '*') {
        if (!anyForStar) j++;
        steps.push({ kind: 'any' });
      } else {
        steps.push({ kind: 'star' });
      }
    }
    if (!last) steps.push({ kind: 'char', char: '/' });
  });
  // Runs of wildcards add states but no meaning; `***` is `**`.
  return steps.filter((s, i) => !(s.kind === 'any' && steps[i - 1]?.kind === 'any'));
}

/**
 * Runs the automaton: `at[i]` = "step i is next", `inside[i]` = "within a segment of the
 * `segments` step i". Each subject character costs one pass over the steps.
 */
function run(steps: readonly Step[], subject: string): boolean {
  const n = steps.length;
  let at = new Uint8Array(n + 1);
  let inside = new Uint8Array(n + 1);
  // two buffers per state, swapped each character (not two new arrays per character of the subject)
  let nextAt = new Uint8Array(n + 1);
  let nextInside = new Uint8Array(n + 1);
  const close = (states: Uint8Array): void => {
    // Wildcard steps may match nothing: reaching one also reaches the step after it.
    for (let i = 0; i < n; i++) if (states[i] === 1 && steps[i]!.kind !== 'char') states[i + 1] = 1;
  };
  at[0] = 1;
  close(at);
  for (let k = 0; k < subject.length; k++) {
    const c = subject[k]!;
    for (let i = 0; i <= n; i++) {
      nextAt[i] = 0; // a loop, not fill(): a call into the runtime per character for a handful of states
      nextInside[i] = 0;
    }
    let alive = false;
    for (let i = 0; i < n; i++) {
      const step = steps[i]!;
      if (inside[i] === 1) {
        if (c === '/') nextAt[i] = 1;
        else nextInside[i] = 1;
        alive = true;
      }
      if (at[i] !== 1) continue;
      if (step.kind === 'char') {
        if (step.char === c) {
          nextAt[i + 1] = 1;
          alive = true;
        }
      } else if (step.kind === 'any' || (step.kind === 'star' && c !== '/')) {
        nextAt[i] = 1;
        alive = true;
      } else if (step.kind === 'segments' && c !== '/') {
        nextInside[i] = 1;
        alive = true;
      }
    }
    if (!alive) return false;
    close(nextAt);
    const spareAt = at;
    at = nextAt;
    nextAt = spareAt;
    const spareInside = inside;
    inside = nextInside;
    nextInside = spareInside;
  }
  return at[n] === 1;
}

/** The glob with its registry host (a first segment without wildcards) in policy form. */
export function canonicalGlob(glob: string): string {
  const slash = glob.indexOf('/');
  if (slash <= 0) return glob;
  const host = glob.slice(0, slash);
  return `${host.includes('*') ? host.toLowerCase() : policyHost(host)}${glob.slice(slash)}`;
}

/** The steps `compileGlob` runs (glob-feasible.ts searches them against the reference grammar). */
export function imageGlobSteps(glob: string): readonly GlobStep[] {
  return toSteps(canonicalGlob(glob), false);
}

export function compileGlob(glob: string): GlobMatcher {
  const steps = toSteps(canonicalGlob(glob), false);
  // `**` alone (every image: the usual catch-all policy) matches any subject
  if (steps.length === 1 && steps[0]!.kind === 'any') return () => true;
  return (subject) => run(steps, withPolicyHost(subject));
}

/** Glob over namespace names: `*` matches any run of characters (names have no slashes). */
export function compileNameGlob(glob: string): GlobMatcher {
  const steps = toSteps(glob, true);
  return (subject) => run(steps, subject);
}

/** True when the glob names a tag or digest and must be matched against the full reference. */
export function globHasVersion(glob: string): boolean {
  const lastSegment = glob.slice(glob.lastIndexOf('/') + 1);
  return lastSegment.includes(':') || lastSegment.includes('@');
}
