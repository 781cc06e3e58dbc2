/**
 * The fuzz suite's cases: a seeded PRNG, a mutator of JSON bodies, the seed corpus (the shared
 * admission fixtures plus synthetic pod reviews) and the error codes a rejection may carry.
 */
import { readdirSync } from 'node:fs';
import { SUPPORTED_KINDS } from '../../src/admission/pod-spec.js';
import { podReview, reviewBodyOf } from './admission-fixtures.js';
import { fixturePath } from './fixtures.js';

/** mulberry32: small, fast, and the same sequence for the same seed on every platform. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const UNICODE = [
  'é',
  'ß',
  '日本',
  '\u202e',
  '\u200b',
  '\u0000',
  '\ud800',
  '\udfff',
  '😀',
  '\ufeff',
  '\\',
  '"',
  '\n',
];
const DEEP = '__IMAGEGATE_DEEP__';

export class Mutator {
  constructor(private readonly rnd: () => number) {}

  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  chance(p: number): boolean {
    return this.rnd() < p;
  }

  string(): string {
    switch (this.int(5)) {
      case 0:
        return '';
      case 1:
        return Array.from({ length: 1 + this.int(8) }, () => this.pick(UNICODE)).join('');
      case 2:
        return this.pick([
          'nginx',
          'registry.example.com/app:1',
          `x@sha256:${'a'.repeat(64)}`,
          'UPPER/Case',
          '::',
          '@',
          'a'.repeat(300),
        ]);
      case 3:
        return String.fromCharCode(...Array.from({ length: 1 + this.int(20) }, () => this.int(0x3000)));
      default:
        return Math.random === this.rnd ? '' : this.rnd().toString(36);
    }
  }

  value(depth = 0): Json {
    switch (this.int(depth > 2 ? 5 : 7)) {
      case 0:
        return null;
      case 1:
        return this.chance(0.5);
      case 2:
        return this.pick([0, -1, 1.5, 1e308, -0, 2 ** 53 + 1]);
      case 3:
      case 4:
        return this.string();
      case 5:
        return Array.from({ length: this.int(4) }, () => this.value(depth + 1));
      default:
        return Object.fromEntries(
          Array.from({ length: this.int(4) }, () => [this.string(), this.value(depth + 1)]),
        );
    }
  }

  /** A random container (object or array) inside `root`, with the path to it. */
  node(root: Json): { parent: Json[] | { [k: string]: Json }; key: string | number } | undefined {
    let current: Json = root;
    let found: { parent: Json[] | { [k: string]: Json }; key: string | number } | undefined;
    for (let depth = 0; depth < 12; depth++) {
      if (current === null || typeof current !== 'object') break;
      const keys: (string | number)[] = Array.isArray(current)
        ? current.map((_, i) => i)
        : Object.keys(current);
      if (keys.length === 0) break;
      const key = this.pick(keys);
      found = { parent: current, key };
      current = (current as Record<string | number, Json>)[key] as Json;
      if (this.chance(0.2)) break;
    }
    return found;
  }

  /** Mutates mostly inside request.object, so that many mutants pass the envelope checks. */
  mutate(body: Json): void {
    const request =
      body !== null && typeof body === 'object' && !Array.isArray(body) ? body.request : undefined;
    const object =
      request !== null && typeof request === 'object' && !Array.isArray(request) && request !== undefined
        ? request.object
        : undefined;
    const r = this.rnd();
    const root =
      r < 0.6 && object !== undefined ? object : r < 0.85 && request !== undefined ? request : body;
    const at = this.node(root);
    if (at === undefined) return;
    const { parent, key } = at;
    const get = (): Json => (parent as Record<string | number, Json>)[key] as Json;
    const set = (v: Json): void => {
      (parent as Record<string | number, Json>)[key] = v;
    };
    const current = get();
    switch (this.int(10)) {
      case 0:
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key as string];
        return;
      case 1:
      case 2:
        set(this.value());
        return;
      case 3:
        if (typeof current === 'string') set(current.slice(0, this.int(current.length + 1)));
        else set(this.string());
        return;
      case 4:
        set(this.pick(['x', 'é', '\ud800', 'a/']).repeat(1 + this.int(this.chance(0.1) ? 200_000 : 2_000)));
        return;
      case 5:
        set(`${DEEP}${1 + this.int(this.chance(0.2) ? 20_000 : 200)}`);
        return;
      case 6:
        if (Array.isArray(current)) set(Object.fromEntries(current.map((v, i) => [String(i), v])));
        else if (current !== null && typeof current === 'object') set(Object.values(current));
        else set([current]);
        return;
      case 7:
        if (typeof current === 'string') set(current + this.pick(UNICODE) + current);
        else set(this.pick(UNICODE));
        return;
      case 8:
        // Values that pass the envelope checks, to reach deeper code.
        set(
          this.pick([
            ...SUPPORTED_KINDS,
            'CREATE',
            'UPDATE',
            'DELETE',
            'CONNECT',
            'admission.k8s.io/v1',
            'AdmissionReview',
          ]),
        );
        return;
      default:
        if (Array.isArray(current) && current.length > 0) set([...current, ...current]);
        else set(this.value());
    }
  }
}

/** Serialises a mutated body, expanding deep-nesting markers into real nested arrays/objects. */
function serialise(body: Json, m: Mutator): string {
  return JSON.stringify(body).replace(new RegExp(`"${DEEP}(\\d+)"`, 'g'), (_, n: string) => {
    const depth = Number(n);
    return m.chance(0.5)
      ? `${'['.repeat(depth)}${']'.repeat(depth)}`
      : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  });
}

export function corpus(): Json[] {
  const files = (readdirSync(fixturePath('admission-review'), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.json'))
    .sort();
  const bodies = files.map((f) => reviewBodyOf(f) as Json);
  // Connaisseur's v1beta1 reviews as v1, so their (valid) requests reach the evaluation too.
  const upgraded = bodies
    .filter((b): b is { [k: string]: Json } => typeof b === 'object' && b !== null && !Array.isArray(b))
    .filter((b) => b.apiVersion === 'admission.k8s.io/v1beta1')
    .map((b) => ({ ...b, apiVersion: 'admission.k8s.io/v1' }));
  const made = [
    podReview(['registry.example.com/prod/api:2', `registry.example.com/prod/api@sha256:${'b'.repeat(64)}`], {
      namespace: 'prod-eu',
    }),
    podReview(['nginx', 'busybox', 'quay.io/x/y:1'], { namespace: 'default', dryRun: true }),
  ] as unknown as Json[];
  return [...bodies, ...upgraded, ...made];
}

export interface Sent {
  text: string;
  contentType: string;
  uid: unknown;
}

export function buildCase(seedBodies: readonly Json[], m: Mutator): Sent {
  if (m.chance(0.03)) {
    const bytes = Buffer.from(Array.from({ length: m.int(512) }, () => m.int(256)));
    return {
      text: bytes.toString('latin1'),
      contentType: m.chance(0.8) ? 'application/json' : 'application/octet-stream',
      uid: undefined,
    };
  }
  const body = structuredClone(m.pick(seedBodies));
  const mutations = m.chance(0.1) ? 0 : 1 + m.int(3);
  for (let i = 0; i < mutations; i++) m.mutate(body);
  const request =
    body !== null && typeof body === 'object' && !Array.isArray(body) ? (body.request as Json) : undefined;
  const uid =
    request !== null && typeof request === 'object' && !Array.isArray(request) && request !== undefined
      ? request.uid
      : undefined;
  let text = serialise(body, m);
  if (m.chance(0.02)) text = text.slice(0, m.int(text.length));
  return { text, contentType: 'application/json', uid };
}

export const ERROR_CODES = new Set([
  'BODY_NOT_JSON',
  'BODY_TOO_LARGE',
  'NOT_ADMISSION_REVIEW',
  'UNSUPPORTED_API_VERSION',
  'MISSING_UID',
  'NO_POD_SPEC',
  'UNSUPPORTED_MEDIA_TYPE',
]);
