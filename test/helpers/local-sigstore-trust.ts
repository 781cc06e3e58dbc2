/**
 * The trusted root and signing configs of the loopback Sigstore (local-sigstore.ts), as the files
 * cosign (`--trusted-root`, `--signing-config`) and imagegate (`--trusted-root NAME=PATH`) read.
 * Nothing public in them: cosign and imagegate then trust only the loopback CA, logs and TSA.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface LocalTrust {
  /** trusted_root.json: the CA, its CT log, the Rekor v1 and v2 logs, the TSA. */
  trustedRoot: string;
  /** signing config v0.2: Fulcio, Rekor v1, TSA. */
  signingConfig: string;
  /** The same with the Rekor v2 log (`majorApiVersion: 2`). */
  signingConfigRekorV2: string;
  /** The same with no transparency log (TSA only). */
  signingConfigNoTlog: string;
  /**
   * The same trust as cosign 2 reads it outside `--trusted-root` (which it reads only with bundles):
   * environment variables and the TSA chain flag.
   */
  cosign2Env: Record<string, string>;
  tsaChainPem: string;
}

type Der = ArrayBufferView;
const b64 = (d: Der | Buffer) => Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('base64');
const spki = (k: KeyObject) => k.export({ format: 'der', type: 'spki' });

export async function writeTrust(
  dir: string,
  url: string,
  m: { ca: Der; ct: { publicKey: KeyObject; logID: Der }; rekor: KeyObject; rekor2: KeyObject; tsa: Der[] },
): Promise<LocalTrust> {
  const validFor = { start: new Date(Date.now() - 86_400_000).toISOString() };
  const log = (key: KeyObject) => ({
    baseUrl: url,
    hashAlgorithm: 'SHA2_256',
    publicKey: { rawBytes: b64(spki(key)), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor },
    logId: { keyId: createHash('sha256').update(spki(key)).digest('base64') },
  });
  const root = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [log(m.rekor), log(m.rekor2)],
    certificateAuthorities: [
      {
        subject: { organization: 'imagegate', commonName: 'loopback fulcio' },
        uri: url,
        certChain: { certificates: [{ rawBytes: b64(m.ca) }] },
        validFor,
      },
    ],
    ctlogs: [{ ...log(m.ct.publicKey), logId: { keyId: b64(m.ct.logID) } }],
    timestampAuthorities: [
      {
        subject: { organization: 'imagegate', commonName: 'loopback tsa' },
        uri: `${url}/api/v1/timestamp`,
        certChain: { certificates: m.tsa.map((c) => ({ rawBytes: b64(c) })) },
        validFor,
      },
    ],
  };
  const service = (u: string, majorApiVersion = 1) => ({
    url: u,
    majorApiVersion,
    validFor,
    operator: 'imagegate-test',
  });
  const config = (rekor: Array<ReturnType<typeof service>>) => ({
    mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
    caUrls: [service(url)],
    oidcUrls: [],
    rekorTlogUrls: rekor,
    tsaUrls: [service(`${url}/api/v1/timestamp`)],
    rekorTlogConfig: { selector: 'ANY' },
    tsaConfig: { selector: 'ANY' },
  });
  const files = {
    trustedRoot: join(dir, 'trusted_root.json'),
    signingConfig: join(dir, 'signing_config.json'),
    signingConfigRekorV2: join(dir, 'signing_config.rekor-v2.json'),
    signingConfigNoTlog: join(dir, 'signing_config.no-tlog.json'),
  };
  const pem = (type: string, der: Der | Buffer) =>
    `-----BEGIN ${type}-----\n${b64(der).replace(/(.{64})/g, '$1\n')}\n-----END ${type}-----\n`;
  const pems = {
    fulcio: join(dir, 'fulcio-root.pem'),
    rekor: join(dir, 'rekor.pub'),
    ct: join(dir, 'ctlog.pub'),
    tsa: join(dir, 'tsa-chain.pem'),
  };
  await writeFile(pems.fulcio, pem('CERTIFICATE', m.ca));
  await writeFile(pems.rekor, pem('PUBLIC KEY', spki(m.rekor)));
  await writeFile(pems.ct, pem('PUBLIC KEY', spki(m.ct.publicKey)));
  await writeFile(pems.tsa, m.tsa.map((c) => pem('CERTIFICATE', c)).join(''));
  await writeFile(files.trustedRoot, JSON.stringify(root, null, 2));
  await writeFile(files.signingConfig, JSON.stringify(config([service(url)]), null, 2));
  await writeFile(files.signingConfigRekorV2, JSON.stringify(config([service(url, 2)]), null, 2));
  await writeFile(files.signingConfigNoTlog, JSON.stringify(config([]), null, 2));
  return {
    ...files,
    cosign2Env: {
      SIGSTORE_ROOT_FILE: pems.fulcio,
      SIGSTORE_REKOR_PUBLIC_KEY: pems.rekor,
      SIGSTORE_CT_LOG_PUBLIC_KEY_FILE: pems.ct,
    },
    tsaChainPem: pems.tsa,
  };
}
