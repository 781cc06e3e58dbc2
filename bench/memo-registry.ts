/**
 * A delaying server in front of a registry that answers from memory what it has seen once (issue 26
 * goal 3 behind "a registry whose own CPU per request is small", as a remote registry's is to
 * imagegate's machine): the first request for a path is forwarded to `upstream`, its answer kept;
 * every later one is answered from memory after `delay` ms. Used by bench/cold-parallel.ts
 * (BENCH_MEMO=1) and the bench's goal-3 rows (bench/cold-memo.ts).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MemoRegistry {
  host: string;
  close(): void;
  /** Requests forwarded upstream (not answered from memory). */
  misses(): number;
  /** When each path's answer was last sent (performance.timeOrigin + now): BENCH_TIMELINE's read waits. */
  sent: Map<string, number>;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export async function memoRegistry(upstream: string, delay: number): Promise<MemoRegistry> {
  let misses = 0;
  const sent = new Map<string, number>();
  const seen = new Map<string, Answer>();
  const server = createServer((req, res) => {
    const key = `${req.method} ${req.url}`;
    const answer = (a: Answer): void => {
      setTimeout(() => {
        res.writeHead(a.status, a.headers).end(a.body);
        sent.set(req.url ?? '', performance.timeOrigin + performance.now());
      }, delay);
    };
    const hit = seen.get(key);
    if (hit !== undefined) return answer(hit);
    misses++;
    void fetch(`${upstream}${req.url}`, {
      method: req.method,
      headers: { accept: req.headers.accept ?? '*/*' },
    })
      .then(async (r) => {
        const headers: Record<string, string> = {};
        for (const h of ['content-type', 'docker-content-digest', 'www-authenticate', 'location'])
          if (r.headers.get(h) !== null) headers[h] = r.headers.get(h)!;
        const a = { status: r.status, headers, body: Buffer.from(await r.arrayBuffer()) };
        seen.set(key, a);
        answer(a);
      })
      .catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => server.close(),
    misses: () => misses,
    sent,
  };
}
