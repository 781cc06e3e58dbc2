/**
 * Whether an image glob can match any normalised reference, decided on the matcher's own steps
 * (glob.ts) against the grammar of what globs are matched against: `host/repository` (or the full
 * `host/repository[:tag][@alg:hex]` for a glob with a version), host in policy form. A breadth-first
 * search over (glob step, grammar state) pairs, so a `**` inside a segment, which matches across
 * `/`, is judged as the matcher runs it (`**demo**` matches `127.0.0.1:5055/team/demo-app`).
 * Returns the shortest such reference, or undefined. The grammar is a little wider than references
 * (it does not know port ranges or which all-numeric hosts the URL parser rewrites as IPv4): it may
 * accept a glob no reference fits, never refuse one that some reference fits. Bounded: states are glob steps × a few dozen
 * grammar states; globs are at most a few hundred characters (the policy schema).
 */
import { globHasVersion, imageGlobSteps, type GlobStep } from './glob.js';

/** Hosts without `.`, `:` or `[` that references still treat as hosts; docker.io needs two segments. */
const KEYWORDS = ['localhost', 'oci-layout', 'docker.io'];
const LOWER = 'abcdefghijklmnopqrstuvwxyz0123456789';
const ALPHABET = `${LOWER}.-_:/@[]ABCDEFGHIJKLMNOPQRSTUVWXYZ`;
const REPO_CHARS = new Set(`${LOWER}._-`);
const WORD = /^\w$/;

/**
 * Grammar states as short strings: `H…` (host, see hostStep), `R<segment non-empty><segments done, max 2><docker.io>`, `T<non-empty>` (tag),
 * `A<non-empty>` (digest algorithm), `X<non-empty>` (digest hex).
 */
type GrammarState = string;

function repoEnough(state: GrammarState): boolean {
  // R s c d: the current segment is non-empty and, for docker.io, at least two segments.
  return state[1] === '1' && Number(state[2]) + 1 >= (state[3] === '1' ? 2 : 1);
}

/**
 * A host in policy form, loosely: DNS-ish names not ending in `.`, an optional `:port` of digits,
 * or a bracketed IPv6 address. State `H<keyword prefix or ~>|<hostlike 0/1><mode>`, mode `n` name,
 * `d` after a dot, `p` port without digits yet, `P` port, `e`/`b` inside brackets (empty or not),
 * `B` after `]`.
 */
function hostStep(state: GrammarState, c: string): GrammarState | undefined {
  const bar = state.lastIndexOf('|');
  const prefix = state.slice(1, bar);
  const hostlike = state[bar + 1] === '1';
  const mode = state[bar + 2];
  if (c === '/') {
    const complete = (mode === 'n' && prefix !== '') || mode === 'P' || mode === 'B';
    if (!complete || !(hostlike || KEYWORDS.includes(prefix))) return undefined;
    return `R00${prefix === 'docker.io' ? 1 : 0}`;
  }
  let next: string | undefined;
  if (mode === 'e') next = /^[0-9a-f:.]$/.test(c) ? 'b' : undefined;
  else if (mode === 'b') next = /^[0-9a-f:.]$/.test(c) ? 'b' : c === ']' ? 'B' : undefined;
  else if (mode === 'p' || mode === 'P') next = /^[0-9]$/.test(c) ? 'P' : undefined;
  else if (mode === 'B') next = c === ':' ? 'p' : undefined;
  else if (c === '[') next = state === 'H|0n' ? 'e' : undefined;
  else if (c === ':') next = mode === 'n' && prefix !== '' ? 'p' : undefined;
  else if (c === '.') next = mode === 'n' && prefix !== '' ? 'd' : undefined;
  else if (/^[a-z0-9-]$/.test(c)) next = c === '-' && prefix === '' ? undefined : 'n';
  if (next === undefined) return undefined;
  const keyword = prefix !== '~' && KEYWORDS.some((k) => k.startsWith(prefix + c)) ? prefix + c : '~';
  return `H${keyword}|${hostlike || c === '.' || c === ':' || c === '[' ? 1 : 0}${next}`;
}

function grammarStep(state: GrammarState, c: string, version: boolean): GrammarState | undefined {
  switch (state[0]) {
    case 'H':
      return hostStep(state, c);
    case 'R':
      if (REPO_CHARS.has(c)) return `R1${state.slice(2)}`;
      if (c === '/')
        return state[1] === '1' ? `R0${Math.min(Number(state[2]) + 1, 2)}${state[3]}` : undefined;
      if (version && (c === ':' || c === '@') && repoEnough(state)) return c === ':' ? 'T0' : 'A0';
      return undefined;
    case 'T':
      if (WORD.test(c) || (state === 'T1' && (c === '.' || c === '-'))) return 'T1';
      return state === 'T1' && c === '@' ? 'A0' : undefined;
    case 'A':
      if (/^[a-z0-9]$/.test(c)) return 'A1';
      return state === 'A1' && c === ':' ? 'X0' : undefined;
    case 'X':
      return /^[a-f0-9]$/.test(c) ? 'X1' : undefined;
    default:
      return undefined;
  }
}

function accepting(state: GrammarState): boolean {
  return (state[0] === 'R' && repoEnough(state)) || state === 'T1' || state === 'X1';
}

/** A glob position: step index, and whether inside a segment of a `segments` step. */
type GlobState = { i: number; inside: boolean };

/** With the steps that match nothing taken (as glob.ts's `close`). */
function closure(steps: readonly GlobStep[], s: GlobState): GlobState[] {
  const out = [s];
  if (s.inside) return out;
  for (let i = s.i; i < steps.length && steps[i]!.kind !== 'char'; i++) out.push({ i: i + 1, inside: false });
  return out;
}

function globStep(steps: readonly GlobStep[], s: GlobState, c: string): GlobState[] {
  if (s.inside) return [{ i: s.i, inside: c !== '/' }];
  const step = steps[s.i];
  if (step === undefined) return [];
  if (step.kind === 'char') return step.char === c ? [{ i: s.i + 1, inside: false }] : [];
  if (step.kind === 'any' || (step.kind === 'star' && c !== '/')) return [{ i: s.i, inside: false }];
  if (step.kind === 'segments' && c !== '/') return [{ i: s.i, inside: true }];
  return [];
}

/** The shortest normalised reference (name, or full reference for a versioned glob) it matches. */
export function exampleMatch(glob: string): string | undefined {
  const steps = imageGlobSteps(glob);
  const version = globHasVersion(glob);
  type Node = { g: GlobState; q: GrammarState; parent?: Node; c?: string };
  const seen = new Set<string>();
  const queue: Node[] = [];
  const push = (node: Node): void => {
    for (const g of closure(steps, node.g)) {
      const key = `${g.i},${g.inside ? 1 : 0},${node.q}`;
      if (seen.has(key)) continue;
      seen.add(key);
      queue.push({ ...node, g });
    }
  };
  push({ g: { i: 0, inside: false }, q: 'H|0n' });
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head]!;
    if (node.g.i === steps.length && !node.g.inside && accepting(node.q)) {
      let text = '';
      for (let n: Node | undefined = node; n?.c !== undefined; n = n.parent) text = n.c + text;
      return text;
    }
    for (const c of ALPHABET) {
      const q = grammarStep(node.q, c, version);
      if (q === undefined) continue;
      for (const g of globStep(steps, node.g, c)) push({ g, q, parent: node, c });
    }
  }
  return undefined;
}
