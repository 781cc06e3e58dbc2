/**
 * A self-generated development certificate for `imagegate serve` without --tls-cert: a throwaway CA
 * (written to a file whose path is logged, for `curl --cacert`) and a server certificate for
 * localhost, 127.0.0.1, ::1 and this host's name. Never used when a certificate is given.
 * The CA is shared by every `serve` using the same data directory (see loadOrCreateCa).
 */
import { webcrypto } from 'node:crypto';
import { link, mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { ConfigError } from '../errors.js';
import { CA_ALG as ALG, serial, throwawayCa } from '../shared/throwaway-ca.js';
const DAY = 24 * 3600 * 1000;

export interface DevCertificate {
  cert: string;
  key: string;
  ca: string;
  caPath: string;
}

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
}

interface DevCa {
  cert: x509.X509Certificate;
  privateKey: webcrypto.CryptoKey;
  pem: string;
}

async function newCa(now: number): Promise<{ ca: DevCa; bundle: string }> {
  const { cert, keys, pem } = await throwawayCa('CN=imagegate development CA', now, 30 * DAY);
  const keyPem = toPem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
  return { ca: { cert, privateKey: keys.privateKey, pem }, bundle: keyPem + pem };
}

/** The CA in `bundle` (key + certificate) when it parses and is valid for at least a day more. */
async function readCa(bundle: string, now: number): Promise<DevCa | undefined> {
  try {
    const key = /-----BEGIN PRIVATE KEY-----[^-]+-----END PRIVATE KEY-----/.exec(bundle)?.[0];
    const certPem = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(bundle)?.[0];
    if (key === undefined || certPem === undefined) return undefined;
    const cert = new x509.X509Certificate(certPem);
    if (cert.notAfter.getTime() < now + DAY) return undefined;
    const der = Buffer.from(key.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    const privateKey = await webcrypto.subtle.importKey('pkcs8', der, ALG, false, ['sign']);
    return { cert, privateKey, pem: certPem + '\n' };
  } catch {
    return undefined;
  }
}

/**
 * One development CA per data directory, shared by every `serve` on the machine: the first
 * process creates it (an atomic link, so two starting at once never overwrite each other), later
 * ones sign their own server certificate with it. The CA file a user passes to curl therefore
 * verifies every dev server, and no process replaces another's CA. The directory must be ours and
 * not writable by others, since it holds the CA key.
 */
async function loadOrCreateCa(dir: string, now: number): Promise<DevCa> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await stat(dir);
  if ((process.getuid !== undefined && info.uid !== process.getuid()) || (info.mode & 0o022) !== 0) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `development certificate directory ${dir} is not owned by this user or is writable by others; set IMAGEGATE_DATA_DIR`,
    );
  }
  const bundlePath = join(dir, 'imagegate-dev-ca.key');
  for (let attempt = 0; attempt < 3; attempt++) {
    const existing = await readFile(bundlePath, 'utf8').catch(() => undefined);
    const ca = existing !== undefined ? await readCa(existing, now) : undefined;
    if (ca !== undefined) return ca;
    const fresh = await newCa(now);
    const tmp = join(dir, `.imagegate-dev-ca.${process.pid}.${serial()}`);
    await writeFile(tmp, fresh.bundle, { mode: 0o600 });
    try {
      // An expired or unreadable CA is replaced; otherwise the first writer wins.
      if (existing !== undefined) await rename(tmp, bundlePath);
      else await link(tmp, bundlePath);
      return fresh.ca;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }
  throw new ConfigError('CONFIG_INVALID', `could not create a development CA in ${dir}`);
}

export async function createDevCertificate(
  dir: string,
  extraNames: readonly string[] = [],
): Promise<DevCertificate> {
  const now = Date.now();
  const ca = await loadOrCreateCa(dir, now);
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const names = ['localhost', hostname(), ...extraNames];
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=imagegate',
    issuer: ca.cert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(Math.min(now + 30 * DAY, ca.cert.notAfter.getTime())),
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...[...new Set(names)].map((value) => ({ type: 'dns' as const, value })),
        { type: 'ip', value: '127.0.0.1' },
        { type: 'ip', value: '::1' },
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false),
    ],
  });
  const key = toPem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
  const caPath = join(dir, 'imagegate-dev-ca.crt');
  // Same content for every process using this CA: a rename never leaves a half-written file.
  const tmp = join(dir, `.imagegate-dev-ca.crt.${process.pid}.${serial()}`);
  await writeFile(tmp, ca.pem, { mode: 0o644 });
  await rename(tmp, caPath);
  return { cert: leaf.toString('pem') + '\n', key, ca: ca.pem, caPath };
}
