/** What a registry exchange answers: its headers and its body, as the client reads them (exchange.ts). */

/** Where buffered bytes are counted (a review's share of the process budget, limits.ts). */
export interface ByteBudget {
  /** Counts `n` more bytes, or throws the coded budget error (never waits). */
  take(n: number, what: string): void;
  give(n: number): void;
}

/** A response body: read once (whole, bounded), or discarded, or dropped. */
export interface ResponseBody {
  /**
   * The whole body, failing with RESPONSE_TOO_LARGE as soon as it passes `maxBytes`. With a budget,
   * every byte is counted before it is kept (the declared length up front).
   */
  read(maxBytes: number, caller: AbortSignal, what: string, budget?: ByteBudget): Promise<Uint8Array>;
  /** Reads at most a little of a body we do not need (error answers): its start as text, or ''. */
  discard(): Promise<string>;
  /** Drops the body (the connection is aborted if it has not ended). */
  destroy(): void;
}

export type Headers = Record<string, string | string[] | undefined>;

export function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** undici's raw headers (name, value, …) as an object of lower-cased names; repeated names: arrays. */
export function toHeaders(raw: Buffer[]): Headers {
  const out = Object.create(null) as Headers;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase();
    const value = raw[i + 1]!.toString('latin1');
    const had = out[name];
    if (had === undefined) out[name] = value;
    else if (typeof had === 'string') out[name] = [had, value];
    else had.push(value);
  }
  return out;
}

/** The first value of `name` (lower case) in undici's raw headers (name, value, …), any case. */
export function rawHeader(raw: readonly Buffer[] | undefined, name: string): string | undefined {
  if (raw === undefined) return undefined;
  const n = name.length;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i]!;
    if (key.length !== n) continue;
    let j = 0;
    for (; j < n; j++) {
      const c = key[j]!;
      if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== name.charCodeAt(j)) break;
    }
    if (j === n) return raw[i + 1]!.toString('latin1');
  }
  return undefined;
}

/** The start of a discarded body as text: the chunks within `limit` bytes, at most 300 characters. */
export function startOfText(chunks: readonly Buffer[], limit: number): string {
  let kept = 0;
  let n = 0;
  for (const c of chunks) {
    if (kept + c.length > limit) break;
    kept += c.length;
    n++;
  }
  return Buffer.concat(chunks.slice(0, n), kept).toString('utf8').slice(0, 300);
}
