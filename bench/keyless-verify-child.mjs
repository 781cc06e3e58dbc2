/**
 * The measuring half of bench/keyless-verify.ts, with plain node over the compiled dist/ (BENCH_DIST
 * for another build): argv[2] is its JSON file (trusted root path, identity, legacy layers, bundles).
 * Two unmeasured rounds (JIT), then ROUNDS rounds over every signature of each format with
 * process.cpuUsage() around them; prints { sig, bundle } as µs per signature (min and median round).
 */
import { readFileSync } from 'node:fs';

const ROUNDS = 25;
const dist = process.env.BENCH_DIST ?? new URL('../dist/src', import.meta.url).pathname;
const { toBundle, SIMPLE_SIGNING_MEDIA_TYPE } = await import(`${dist}/checks/signature/cosign-legacy.js`);
const { toBundleFromJSON } = await import(`${dist}/checks/signature/bundle-json.js`);
const { loadTrustedRoots } = await import(`${dist}/checks/signature/trusted-roots.js`);
const { verifyCertificateSignature } = await import(`${dist}/checks/signature/certificate-signature.js`);

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const roots = await loadTrustedRoots({ files: [{ name: 'bench', path: input.trustedRoot }], offline: true });
const exact = (value) => ({ describe: value, test: (v) => v === value });
const authority = {
  kind: 'keyless',
  name: 'bench',
  transparencyLog: 'required',
  trustedRoot: 'bench',
  issuer: exact(input.identity.issuer),
  subject: exact(input.identity.subject),
  claims: [],
};
const layers = input.sigs.map((s) => ({
  mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
  annotations: s.annotations,
  blob: Buffer.from(s.payload, 'base64'),
}));

/** Each format: how many signatures a round verifies, and the round. */
const formats = {
  sig: [
    layers.length,
    () => {
      for (const layer of layers) {
        const { bundle, artifact } = toBundle(layer);
        verifyCertificateSignature(bundle, { artifact }, authority, roots);
      }
    },
  ],
  bundle: [
    input.bundles.length,
    () => {
      for (const json of input.bundles)
        verifyCertificateSignature(toBundleFromJSON(json), {}, authority, roots);
    },
  ],
};

const out = {};
for (const [name, [count, run]] of Object.entries(formats)) {
  run();
  run();
  const perSignature = [];
  for (let r = 0; r < ROUNDS; r++) {
    const c0 = process.cpuUsage();
    run();
    const c = process.cpuUsage(c0);
    perSignature.push((c.user + c.system) / count);
  }
  perSignature.sort((a, b) => a - b);
  out[name] = { min: Math.round(perSignature[0]), median: Math.round(perSignature[ROUNDS >> 1]) };
}
process.stdout.write(`${JSON.stringify(out)}\n`);
