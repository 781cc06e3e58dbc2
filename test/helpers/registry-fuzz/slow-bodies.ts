/**
 * Connections to imagegate that send a review's headers and then its body slowly (a pod author or
 * anyone who reaches the port): `connections` at once, each declaring `bytes` and sending 1 KiB
 * every `everyMs` (after all but 8 bytes at once, with `fill`) until released.
 */
import { connect, type TLSSocket } from 'node:tls';

export interface SlowBodies {
  release(): void;
}

export function holdSlowBodies(
  port: number,
  ca: string,
  spec: { connections: number; bytes: number; everyMs: number; fill: boolean },
): SlowBodies {
  const sockets: TLSSocket[] = [];
  const timers: NodeJS.Timeout[] = [];
  const chunk = Buffer.alloc(1024, 0x20);
  let released = false;
  for (let i = 0; i < spec.connections; i++) {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca }, () => {
      if (released) return void socket.destroy();
      socket.write(
        `POST /validate?timeout=10s HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n` +
          `content-length: ${spec.bytes}\r\n\r\n{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"slow","x":"`,
      );
      // fill: all but the last 8 bytes at once, then hold (what buffers memory); else a drip
      let sent = 0;
      if (spec.fill) {
        for (; sent + 65_536 < spec.bytes - 8; sent += 65_536) socket.write(Buffer.alloc(65_536, 0x20));
      }
      const timer = setInterval(() => {
        if (sent + chunk.byteLength >= spec.bytes - 8) return;
        sent += chunk.byteLength;
        socket.write(chunk);
      }, spec.everyMs);
      timers.push(timer);
    });
    socket.on('error', () => undefined);
    sockets.push(socket);
  }
  return {
    release() {
      released = true;
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
    },
  };
}
