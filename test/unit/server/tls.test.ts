import { once } from 'node:events';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request, Agent, createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  loadTlsOptions,
  watchTlsFiles,
  type TlsReloadEvent,
  type TlsWatcher,
} from '../../../src/server/tls.js';
import { createTestCa, type Pem, type TestCa } from '../../helpers/certs.js';

/**
 * A directory laid out like a kubelet-mounted Secret: `tls.crt -> ..data/tls.crt`,
 * `..data -> ..<timestamp>`; `rotate` swaps the `..data` symlink atomically as the kubelet does.
 */
class SecretVolume {
  readonly dir = mkdtempSync(join(tmpdir(), 'imagegate-tls-'));
  private generation = 0;
  constructor(pem: Pem, ca?: string) {
    this.writeGeneration(pem, ca);
    symlinkSync('..data/tls.crt', join(this.dir, 'tls.crt'));
    symlinkSync('..data/tls.key', join(this.dir, 'tls.key'));
    symlinkSync('..data/ca.crt', join(this.dir, 'ca.crt'));
  }
  get files() {
    return { certFile: join(this.dir, 'tls.crt'), keyFile: join(this.dir, 'tls.key') };
  }
  private writeGeneration(pem: Pem, ca = ''): void {
    this.generation += 1;
    const gen = `..gen_${this.generation}`;
    mkdirSync(join(this.dir, gen));
    writeFileSync(join(this.dir, gen, 'tls.crt'), pem.cert);
    writeFileSync(join(this.dir, gen, 'tls.key'), pem.key);
    writeFileSync(join(this.dir, gen, 'ca.crt'), ca);
    symlinkSync(gen, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
  }
  rotate(pem: Pem, ca?: string): void {
    this.writeGeneration(pem, ca);
  }
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

interface Seen {
  serial: string;
  status: number;
  reused: boolean;
  localPort: number;
}

function get(
  port: number,
  ca: string,
  agent: Agent,
  extra: { cert?: string; key?: string } = {},
): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/healthz', ca, agent, servername: 'imagegate.test', ...extra },
      (res) => {
        const socket = res.socket as TLSSocket;
        const serial = socket.getPeerCertificate().serialNumber.toLowerCase();
        res.resume();
        res.on('end', () =>
          resolve({
            serial,
            status: res.statusCode ?? 0,
            reused: req.reusedSocket,
            localPort: socket.localPort ?? 0,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function nextReload(events: TlsReloadEvent[]): Promise<TlsReloadEvent> {
  const start = events.length;
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 5000;
    const tick = setInterval(() => {
      if (events.length > start) {
        clearInterval(tick);
        resolve(events[start]!);
      } else if (Date.now() > deadline) {
        clearInterval(tick);
        reject(new Error('no reload within 5 s'));
      }
    }, 10);
  });
}

describe('server TLS', () => {
  let ca: TestCa;
  let first: Pem;
  let second: Pem;
  const cleanup: (() => void)[] = [];

  beforeAll(async () => {
    ca = await createTestCa();
    first = await ca.issue('imagegate.test', { dnsNames: ['imagegate.test'] });
    second = await ca.issue('imagegate.test', { dnsNames: ['imagegate.test'] });
  });

  afterEach(() => {
    for (const fn of cleanup.splice(0).reverse()) fn();
  });

  async function serve(volume: SecretVolume, mutual = false): Promise<{ server: Server; port: number }> {
    const files = { ...volume.files, ...(mutual ? { clientCaFile: join(volume.dir, 'ca.crt') } : {}) };
    // 200 for a client whose certificate the client CA verified (or no client CA), 401 otherwise.
    const server = createServer(loadTlsOptions(files), (req, res) => {
      const authorized = (req.socket as TLSSocket).authorized;
      res.statusCode = mutual && !authorized ? 401 : 200;
      res.end('ok');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanup.push(() => server.close());
    cleanup.push(() => server.closeAllConnections());
    return { server, port: (server.address() as AddressInfo).port };
  }

  /** A server on the first pair's Secret volume, its files watched (reloads by file event only). */
  async function serveWatched(): Promise<{ volume: SecretVolume; port: number; events: TlsReloadEvent[] }> {
    const volume = new SecretVolume(first);
    cleanup.push(() => volume.remove());
    const { server, port } = await serve(volume);
    const events: TlsReloadEvent[] = [];
    const watcher = watchTlsFiles(server, volume.files, {
      pollIntervalMs: 60_000,
      onReload: (e) => events.push(e),
    });
    cleanup.push(() => watcher.close());
    return { volume, port, events };
  }

  describe('loadTlsOptions', () => {
    it('requires TLS 1.2 or later and no client certificate by default', () => {
      const volume = new SecretVolume(first);
      cleanup.push(() => volume.remove());
      const opts = loadTlsOptions(volume.files);
      expect(opts).toMatchObject({ minVersion: 'TLSv1.2', requestCert: false, rejectUnauthorized: false });
    });

    it('throws CONFIG_INVALID when the key does not belong to the certificate', () => {
      const volume = new SecretVolume({ ...first, key: second.key });
      cleanup.push(() => volume.remove());
      expect(() => loadTlsOptions(volume.files)).toThrowWithCode('CONFIG_INVALID');
    });

    it('offers only forward-secret TLS 1.2 suites with an RSA certificate (no RSA key exchange)', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'imagegate-rsa-'));
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-subj',
          '/CN=imagegate.test',
          '-addext',
          'subjectAltName=DNS:imagegate.test',
          '-days',
          '1',
          '-keyout',
          join(dir, 'tls.key'),
          '-out',
          join(dir, 'tls.crt'),
        ],
        { stdio: 'ignore' },
      );
      const opts = loadTlsOptions({ certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') });
      const server = createServer(opts, (_req, res) => res.end('ok'));
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      cleanup.push(() => server.close());
      const port = (server.address() as AddressInfo).port;
      const handshake = (ciphers: string): Promise<string> =>
        new Promise((resolve, reject) => {
          const socket = tlsConnect(
            {
              host: '127.0.0.1',
              port,
              servername: 'imagegate.test',
              rejectUnauthorized: false,
              maxVersion: 'TLSv1.2',
              ciphers,
            },
            () => {
              resolve(socket.getCipher().standardName);
              socket.end();
            },
          );
          socket.on('error', reject);
        });
      // Node's default list offers these with an RSA certificate: RSA key exchange, no forward secrecy.
      for (const plain of ['AES128-GCM-SHA256', 'AES256-GCM-SHA384', 'AES128-SHA256']) {
        await expect(handshake(plain)).rejects.toThrow();
      }
      expect(await handshake('ECDHE-RSA-AES128-GCM-SHA256')).toBe('TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');
    });

    it('refuses a TLS 1.1 client', async () => {
      const volume = new SecretVolume(first);
      cleanup.push(() => volume.remove());
      const { port } = await serve(volume);
      const agent = new Agent({ keepAlive: false, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' });
      await expect(get(port, ca.cert, agent)).rejects.toThrow();
    });
  });

  describe('when the Secret volume is rotated by a symlink swap', () => {
    it('serves the new certificate to new connections and keeps an open keep-alive connection', async () => {
      const { volume, port, events } = await serveWatched();

      const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
      cleanup.push(() => keepAlive.destroy());
      const before = await get(port, ca.cert, keepAlive);
      expect(before.serial).toBe(first.serial);

      const reloaded = nextReload(events);
      volume.rotate(second);
      expect(await reloaded).toMatchObject({ ok: true });

      const fresh = new Agent({ keepAlive: false });
      expect((await get(port, ca.cert, fresh)).serial).toBe(second.serial);

      const again = await get(port, ca.cert, keepAlive);
      expect(again).toMatchObject({
        reused: true,
        localPort: before.localPort,
        serial: first.serial,
        status: 200,
      });
    });

    it('keeps the last good certificate when the new pair does not match, then recovers', async () => {
      const { volume, port, events } = await serveWatched();

      const failed = nextReload(events);
      volume.rotate({ ...second, key: first.key });
      expect(await failed).toMatchObject({ ok: false });
      expect((await get(port, ca.cert, new Agent())).serial).toBe(first.serial);

      const recovered = nextReload(events);
      volume.rotate(second);
      expect(await recovered).toMatchObject({ ok: true });
      expect((await get(port, ca.cert, new Agent())).serial).toBe(second.serial);
    });

    it('notices the change by polling when no file event arrives', async () => {
      const volume = new SecretVolume(first);
      cleanup.push(() => volume.remove());
      const { server, port } = await serve(volume);
      const events: TlsReloadEvent[] = [];
      // A huge debounce stands in for a filesystem whose watch never fires.
      const watcher: TlsWatcher = watchTlsFiles(server, volume.files, {
        pollIntervalMs: 50,
        debounceMs: 60_000,
        onReload: (e) => events.push(e),
      });
      cleanup.push(() => watcher.close());
      const reloaded = nextReload(events);
      volume.rotate(second);
      await reloaded;
      expect((await get(port, ca.cert, new Agent())).serial).toBe(second.serial);
      expect(watcher.notAfter.getTime()).toBeGreaterThan(Date.now());
    });
  });

  describe('with a client CA', () => {
    it('verifies a client certificate from that CA; a client without one, or with another, completes the handshake unverified (probes have none)', async () => {
      const clientCa = await createTestCa('apiserver client CA');
      const client = await clientCa.issue('kube-apiserver', { client: true });
      const volume = new SecretVolume(first, clientCa.cert);
      cleanup.push(() => volume.remove());
      const { port } = await serve(volume, true);

      const ok = await get(port, ca.cert, new Agent(), { cert: client.cert, key: client.key });
      expect(ok.status).toBe(200);
      expect((await get(port, ca.cert, new Agent())).status).toBe(401);

      const stranger = await ca.issue('someone', { client: true });
      const other = await get(port, ca.cert, new Agent(), { cert: stranger.cert, key: stranger.key });
      expect(other.status).toBe(401);
    });
  });
});
