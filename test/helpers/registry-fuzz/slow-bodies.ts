/**
 * Connections to imagegate that send a review's headers and then its body slowly (a pod author or
 * anyone who reaches the port): `connections` at once, each declaring `bytes` and sending 1 KiB
 * every `everyMs` (after all but 8 bytes at once, with `fill`) until released. `from` names the
 * local addresses the connections come from, in turn (another pod than the API server: loopback has
 * all of 127/8); `path` the route (default `/validate`). `statuses` counts the answers by status line.
 */
import { connect, type TLSSocket } from 'node:tls';

const FILL = Buffer.alloc(65_536, 0x20);

export interface SlowBodies {
  release(): void;
  /** Answers received so far, by HTTP status (`0`: the socket closed without one). */
  readonly statuses: Record<string, number>;
}

export function holdSlowBodies(
  port: number,
  ca: string,
  spec: { connections: number; bytes: number; everyMs: number; fill: boolean },
  where: { from?: readonly string[]; path?: string } = {},
): SlowBodies {
  const sockets: TLSSocket[] = [];
  const timers: NodeJS.Timeout[] = [];
  const statuses: Record<string, number> = {};
  const chunk = Buffer.alloc(1024, 0x20);
  let released = false;
  for (let i = 0; i < spec.connections; i++) {
    const localAddress = where.from?.[i % where.from.length];
    const socket = connect(
      {
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        ca,
        ...(localAddress !== undefined ? { localAddress } : {}),
      },
      () => {
        if (released) return void socket.destroy();
        socket.write(
          `POST ${where.path ?? '/validate'}?timeout=10s HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n` +
            `content-length: ${spec.bytes}\r\n\r\n{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"slow","x":"`,
        );
        // fill: all but the last 8 bytes as fast as imagegate reads them, then hold (what buffers
        // memory); else a drip. Written as the socket drains: encrypting megabytes imagegate never
        // reads (it refuses and closes) only loaded this process, not imagegate.
        let sent = 0;
        const fill = (): void => {
          while (spec.fill && !released && sent + FILL.byteLength < spec.bytes - 8) {
            sent += FILL.byteLength;
            if (!socket.write(FILL)) return void socket.once('drain', fill);
          }
        };
        fill();
        const timer = setInterval(() => {
          if (sent + chunk.byteLength >= spec.bytes - 8) return;
          sent += chunk.byteLength;
          socket.write(chunk);
        }, spec.everyMs);
        timers.push(timer);
      },
    );
    let head = '';
    let counted = false;
    const count = (status: string): void => {
      if (counted) return;
      counted = true;
      statuses[status] = (statuses[status] ?? 0) + 1;
    };
    socket.on('data', (d: Buffer) => {
      if (head.length < 64) head += d.toString('latin1', 0, 64);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (m !== null) count(m[1]!);
    });
    socket.on('close', () => {
      if (!released) count('0');
    });
    socket.on('error', () => undefined);
    sockets.push(socket);
  }
  return {
    statuses,
    release() {
      released = true;
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
    },
  };
}
