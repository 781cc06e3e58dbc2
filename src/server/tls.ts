/**
 * TLS material for the HTTPS server: certificate and key from files (a mounted Secret), TLS 1.2+,
 * optional verification of the API server's client certificate, and reload on change.
 *
 * cert-manager and the kubelet rotate a mounted Secret by writing a new timestamped directory and
 * swapping the `..data` symlink, so the files never change in place: we watch the *directories* with
 * fs.watch and also poll (fs.watch misses events on some filesystems and across symlink swaps).
 * A reload builds a new secure context and hands it to `server.setSecureContext()`: new handshakes use
 * it, established connections keep theirs, nothing is dropped. A half-written pair (new cert, old key)
 * fails to build and is retried on the next event or poll; the last good context stays in service.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { ConfigError, errorMessage } from '../errors.js';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** PEM bundle of CAs whose client certificates are accepted; when set, clients must present one. */
  clientCaFile?: string;
}

/**
 * Cipher suites offered: the TLS 1.3 ones (all forward secret) and, for TLS 1.2, only ECDHE key
 * exchange with AEAD ciphers. Node's default list also offers RSA key exchange (`AES128-GCM-SHA256`
 * and friends) with an RSA certificate: no forward secrecy, so a stolen key decrypts recorded traffic.
 */
export const SERVER_CIPHERS = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_GCM_SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
].join(':');

/** Options for `https.createServer` / Fastify's `https` option. */
export interface TlsServerOptions extends SecureContextOptions {
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  requestCert: boolean;
  rejectUnauthorized: boolean;
}

export interface TlsLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

interface Material {
  context: SecureContextOptions & { minVersion: 'TLSv1.2' };
  fingerprint: string;
  notAfter: Date;
}

function readMaterial(files: TlsFiles): Material {
  const cert = readFileSync(files.certFile);
  const key = readFileSync(files.keyFile);
  const ca = files.clientCaFile === undefined ? undefined : readFileSync(files.clientCaFile);
  const context = {
    cert,
    key,
    minVersion: 'TLSv1.2' as const,
    ciphers: SERVER_CIPHERS,
    honorCipherOrder: true,
    ...(ca === undefined ? {} : { ca }),
  };
  // Throws on unparsable PEM and on a key that does not belong to the certificate.
  createSecureContext(context);
  const hash = createHash('sha256').update(cert).update(key);
  if (ca !== undefined) hash.update(ca);
  return { context, fingerprint: hash.digest('hex'), notAfter: new Date(new X509Certificate(cert).validTo) };
}

/**
 * Reads the files once, for start-up: throws ConfigError (CONFIG_INVALID) naming the file set.
 * With a client CA the handshake asks for a certificate but does not refuse a client without one:
 * the kubelet's probes have none. The review routes refuse such callers (server/caller-auth.ts).
 */
export function loadTlsOptions(files: TlsFiles): TlsServerOptions {
  let material: Material;
  try {
    material = readMaterial(files);
  } catch (err) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `cannot load TLS certificate ${files.certFile} / key ${files.keyFile}: ${errorMessage(err)}`,
      { cause: err },
    );
  }
  const mutual = files.clientCaFile !== undefined;
  return { ...material.context, requestCert: mutual, rejectUnauthorized: false };
}

export interface TlsReloadEvent {
  ok: boolean;
  /** Certificate expiry after a successful reload (export it as a metric). */
  notAfter?: Date;
  error?: string;
}

export interface WatchTlsOptions {
  log?: TlsLog;
  /** Polling interval; default 10 s. The directory watch usually reacts within milliseconds. */
  pollIntervalMs?: number;
  /** Quiet period after a file event before reloading, so a rotation's several writes land together. */
  debounceMs?: number;
  onReload?: (event: TlsReloadEvent) => void;
  signal?: AbortSignal;
}

export interface TlsWatcher {
  /** Re-reads the files now; true when a new context was installed. */
  reload(): boolean;
  readonly notAfter: Date;
  close(): void;
}

/** The part of `https.Server`/`tls.Server` the watcher uses. */
export interface SecureContextTarget {
  setSecureContext(options: SecureContextOptions): void;
}

export function watchTlsFiles(
  server: SecureContextTarget,
  files: TlsFiles,
  options: WatchTlsOptions = {},
): TlsWatcher {
  const { log, onReload } = options;
  let current = readMaterial(files);
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  const reload = (): boolean => {
    if (closed) return false;
    let next: Material;
    try {
      next = readMaterial(files);
    } catch (err) {
      log?.warn(
        { certFile: files.certFile, err: errorMessage(err) },
        'TLS files unreadable or inconsistent; keeping the current certificate',
      );
      onReload?.({ ok: false, error: errorMessage(err) });
      return false;
    }
    if (next.fingerprint === current.fingerprint) return false;
    server.setSecureContext(next.context);
    current = next;
    log?.info(
      { certFile: files.certFile, notAfter: next.notAfter.toISOString() },
      'TLS certificate reloaded',
    );
    onReload?.({ ok: true, notAfter: next.notAfter });
    return true;
  };

  const schedule = (): void => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(reload, options.debounceMs ?? 100);
    timer.unref();
  };

  const dirs = new Set([dirname(files.certFile), dirname(files.keyFile)]);
  if (files.clientCaFile !== undefined) dirs.add(dirname(files.clientCaFile));
  const watchers: FSWatcher[] = [];
  for (const dir of dirs) {
    try {
      const w = watch(dir, { persistent: false }, schedule);
      w.on('error', (err) =>
        log?.warn({ dir, err: errorMessage(err) }, 'TLS directory watch failed; polling only'),
      );
      watchers.push(w);
    } catch (err) {
      log?.warn({ dir, err: errorMessage(err) }, 'cannot watch TLS directory; polling only');
    }
  }
  const poll = setInterval(reload, options.pollIntervalMs ?? 10_000);
  poll.unref();

  const close = (): void => {
    closed = true;
    clearTimeout(timer);
    clearInterval(poll);
    for (const w of watchers) w.close();
  };
  options.signal?.addEventListener('abort', close, { once: true });

  return {
    reload,
    get notAfter() {
      return current.notAfter;
    },
    close,
  };
}
