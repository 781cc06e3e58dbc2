/** Shared by the size end-to-end suites: a size policy per registry and a black-hole TCP server. */
import { createServer, type Server, type Socket } from 'node:net';
import { policyYaml } from './policy-documents.js';

/** One policy per registry, 256 KiB limit; `onError` as given. */
export function sizePolicy(name: string, glob: string, onError: 'deny' | 'allow'): string {
  const size = { maxCompressed: '256Ki', maxLayers: 10 };
  return `---\n${policyYaml(name, { mode: 'enforce', images: [{ glob }], onError, size })}`;
}

/** A TCP server that counts connections and never answers (a black hole). */
export async function silentServer(): Promise<{
  host: string;
  connections: () => number;
  close(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((s) => {
    connections += 1;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    host: `127.0.0.1:${address.port}`,
    connections: () => connections,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
