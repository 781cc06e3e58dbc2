// What one open registry socket costs imagegate's process: N requests held open at once through one
// undici Agent (as src/registry/connections.ts makes them), the server in another process.
// Usage: node --expose-gc bench/socket-memory.mjs [N=256] [tls]   (prints KiB per socket: RSS, heap)
import { execFileSync, fork } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttp } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [, , nArg, mode, role] = process.argv;
const N = Number(nArg ?? 256);
const tls = mode === 'tls';

if (role === 'server') {
  const held = [];
  const handler = (_req, res) => {
    held.push(res);
    if (held.length === N) process.send('all held');
  };
  const dir = process.env.CERT_DIR;
  const server = tls
    ? createHttps(
        { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
        handler,
      )
    : createHttp(handler);
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send(server.address().port));
  process.on('message', () => {
    for (const res of held) res.end('ok');
  });
} else {
  const { Agent, request } = await import('undici');
  const dir = mkdtempSync(join(tmpdir(), 'socket-memory-'));
  if (tls) {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
  }
  const child = fork(new URL(import.meta.url).pathname, [String(N), mode ?? 'plain', 'server'], {
    env: { ...process.env, CERT_DIR: dir },
  });
  const next = () => new Promise((r) => child.once('message', r));
  const port = await next();
  const agent = new Agent({ connections: N, connect: { rejectUnauthorized: false } });
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}/x`;
  const rss = () => Number(readFileSync('/proc/self/status', 'utf8').match(/VmRSS:\s+(\d+)/)[1]);
  globalThis.gc?.();
  const r0 = rss();
  const h0 = process.memoryUsage().heapUsed;
  const allHeld = next();
  const ps = Array.from({ length: N }, () => request(url, { dispatcher: agent }));
  await allHeld;
  globalThis.gc?.();
  const r1 = rss();
  const h1 = process.memoryUsage().heapUsed;
  console.log(
    JSON.stringify({
      sockets: N,
      tls,
      rssKiBPerSocket: +((r1 - r0) / N).toFixed(1),
      heapKiBPerSocket: +((h1 - h0) / 1024 / N).toFixed(1),
    }),
  );
  child.send('release');
  await Promise.all(ps.map((p) => p.then((r) => r.body.text())));
  await agent.close();
  child.kill();
}
