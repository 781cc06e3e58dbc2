/**
 * When to ask the Sigstore TUF repository for the public-good trusted root, and when to use the
 * copy cached on disk. A CLI run in an offline CI job must not spend seconds per run on a network
 * that is not there, and a server must not use a stale root for long:
 *
 * - refreshed online less than an hour ago → the cache, no network;
 * - an online attempt failed less than ten minutes ago → the cache, no network (said so);
 * - otherwise one online attempt (3 s timeout, no retries), then the cache if it fails.
 *
 * The state (last refresh, last failure) lives beside the TUF cache in `imagegate-tuf-state.json`.
 * A server's periodic refresh always goes online. Every result says which copy is used.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import { errorMessage } from '../../errors.js';

export interface TufFetchOptions {
  cachePath: string;
  /** Use cached metadata only (no network when the cache is complete, even if expired). */
  forceCache: boolean;
  /** Per request, milliseconds. */
  timeout: number;
  retry: false;
}

/** Fetches the public-good TrustedRoot; injectable so tests never contact TUF. */
export type TufFetcher = (options: TufFetchOptions) => Promise<TrustedRoot>;

export const TUF_TIMEOUT_MS = 3000;
export const TUF_FRESH_MS = 3600_000;
export const TUF_RETRY_AFTER_MS = 600_000;
const STATE_FILE = 'imagegate-tuf-state.json';

/** `$XDG_CACHE_HOME/imagegate` (or `~/.cache/imagegate`): where the CLI keeps TUF metadata. */
export function defaultCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'imagegate');
}

interface TufState {
  refreshedAt?: number;
  failedAt?: number;
  failure?: string;
}

async function readState(dir: string): Promise<TufState> {
  try {
    const parsed: unknown = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as TufState) : {};
  } catch {
    return {};
  }
}

async function writeState(dir: string, state: TufState): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, STATE_FILE), JSON.stringify(state));
  } catch {
    // A read-only cache only costs the shortcut next time.
  }
}

const ago = (ms: number): string =>
  ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;

export interface TufRoot {
  root: TrustedRoot;
  /** Which copy is used and why, for logs and readiness. */
  note: string;
}

/** The public-good root per the rules above; throws an Error whose message says why there is none. */
export async function fetchPublicGood(
  tuf: TufFetcher,
  cacheDir: string,
  options: { force?: boolean; now?: number; stateless?: boolean } = {},
): Promise<TufRoot> {
  const now = options.now ?? Date.now();
  const stateless = options.stateless === true;
  const state = stateless ? {} : await readState(cacheDir);
  const save = (next: TufState): Promise<void> =>
    stateless ? Promise.resolve() : writeState(cacheDir, next);
  const base = { cachePath: cacheDir, timeout: TUF_TIMEOUT_MS, retry: false } as const;
  const cached = async (why: string): Promise<TufRoot | undefined> => {
    try {
      return { root: await tuf({ ...base, forceCache: true }), note: `TUF cache at ${cacheDir} (${why})` };
    } catch {
      return undefined;
    }
  };
  if (options.force !== true) {
    if (state.refreshedAt !== undefined && now - state.refreshedAt < TUF_FRESH_MS) {
      const hit = await cached(`refreshed ${ago(now - state.refreshedAt)} ago; TUF not contacted`);
      if (hit !== undefined) return hit;
    } else if (state.failedAt !== undefined && now - state.failedAt < TUF_RETRY_AFTER_MS) {
      const why = `TUF unreachable ${ago(now - state.failedAt)} ago (${state.failure ?? 'unknown'}); not retried for ${ago(TUF_RETRY_AFTER_MS)}`;
      const hit = await cached(why);
      if (hit !== undefined) return hit;
      throw new Error(`${why}, and no cached root`);
    }
  }
  try {
    const root = await tuf({ ...base, forceCache: false });
    await save({ refreshedAt: now });
    return { root, note: `Sigstore TUF, refreshed online (cache ${cacheDir})` };
  } catch (online) {
    const failure = errorMessage(online).slice(0, 200);
    await save({ ...state, failedAt: now, failure });
    const hit = await cached(
      `TUF unreachable: ${failure}; last refreshed ${state.refreshedAt !== undefined ? `${ago(now - state.refreshedAt)} ago` : 'never by imagegate'}`,
    );
    if (hit !== undefined) return hit;
    throw new Error(`Sigstore TUF repository unreachable and no cached root: ${failure}`);
  }
}
