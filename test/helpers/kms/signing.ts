/**
 * Images in the loopback registry signed by the real cosign with keys the KMS stand-ins serve:
 * `cosign import-key-pair` turns a generated PEM key into cosign's key file, `cosign sign --key`
 * signs (ECDSA, RSA PKCS#1 v1.5: what cosign's own RSA signer makes). RSA-PSS, which cosign signs only
 * through a KMS, is made on cosign's own payload (`cosign generate`) with node:crypto and stored by
 * `cosign attach signature`: the same simple-signing layout a KMS-backed `cosign sign` writes (so are
 * ECDSA P-384 signatures with SHA-384, which cosign makes only with such a KMS key).
 */
import { constants, sign } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Cosign } from '../cosign.js';
import { REGISTRY_FLAGS } from '../cosign-world.js';
import { buildImage, pushImage } from '../image-builder.js';
import type { TestRegistry } from '../registry.js';
import type { TestKeyPair } from './keys.js';

let unique = 0;

/** Pushes a fresh single-layer image; its digest reference. */
export async function pushFreshImage(registry: TestRegistry, repo: string): Promise<string> {
  unique += 1;
  const img = buildImage({
    platform: 'linux/amd64',
    steps: [{ createdBy: 'COPY id /', files: { id: `kms-${process.pid}-${unique}` } }],
  });
  await pushImage(registry.url, repo, `t${unique}`, img);
  return `${registry.host}/${repo}@${img.manifest.digest}`;
}

/** cosign's key file for `pair` (imported once per pair). */
const imported = new WeakMap<TestKeyPair, Promise<string>>();
function cosignKeyFile(c: Cosign, pair: TestKeyPair): Promise<string> {
  let file = imported.get(pair);
  if (file === undefined) {
    file = (async () => {
      const dir = await mkdtemp(join(c.home, 'import-'));
      await writeFile(join(dir, 'key.pem'), pair.privatePem, { mode: 0o600 });
      await c.must(['import-key-pair', '--key', 'key.pem', '--output-key-prefix', 'imported'], { cwd: dir });
      return join(dir, 'imported.key');
    })();
    imported.set(pair, file);
  }
  return file;
}

/** `cosign sign --key` (legacy `.sig` tag, no transparency log). */
export async function cosignSign(c: Cosign, ref: string, pair: TestKeyPair): Promise<void> {
  await c.must([
    'sign',
    '--key',
    await cosignKeyFile(c, pair),
    '--tlog-upload=false',
    '-y',
    ...REGISTRY_FLAGS,
    ref,
  ]);
}

/**
 * A signature over cosign's payload for `ref` made as a KMS would (`pss`: RSASSA-PSS, salt = digest
 * length; else the key's default: ECDSA or PKCS#1 v1.5) with `hash`, attached by cosign.
 */
export async function kmsStyleSign(
  c: Cosign,
  ref: string,
  pair: TestKeyPair,
  options: { pss?: boolean; hash?: 'sha256' | 'sha384' } = {},
): Promise<void> {
  const payload = (await c.must(['generate', ...REGISTRY_FLAGS, ref])).stdout;
  const hash = options.hash ?? 'sha256';
  const signature = sign(
    hash,
    Buffer.from(payload),
    options.pss === true
      ? {
          key: pair.privateKey,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: hash === 'sha256' ? 32 : 48,
        }
      : pair.privateKey,
  );
  const dir = await mkdtemp(join(c.home, 'kms-style-'));
  await writeFile(join(dir, 'payload.json'), payload);
  await writeFile(join(dir, 'sig.b64'), signature.toString('base64'));
  await c.must([
    'attach',
    'signature',
    '--payload',
    join(dir, 'payload.json'),
    '--signature',
    join(dir, 'sig.b64'),
    ...REGISTRY_FLAGS,
    ref,
  ]);
}
