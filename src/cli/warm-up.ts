/**
 * `serve`'s warm-up before /readyz says ready. A fresh process's first cold review costs ~60 ms of
 * CPU more than the next ones (code running for the first time across the registry client, the
 * checks, verification and the audit line; docs/benchmarks.md, issue 26 round 7), and a new replica
 * would spend it on the first pods the API server sends. So before readiness the same path runs on
 * synthetic images: key-signed (cosign legacy `.sig`, an ephemeral ECDSA P-256 key) images, and
 * keyless-signed ones too when a loaded policy names a keyless authority (warm-up-keyless.ts: a
 * throwaway CA, CT log and Rekor only this warm-up trusts), served by an in-process registry on
 * loopback (warm-up-registry.ts), reviewed by a throwaway engine (its own policy, caches and
 * connections) through runReview, as /validate reviews a pod. Then signature verification alone, in
 * every form the policies may meet (key and keyless, `.sig` and bundle), runs in-process until V8
 * has optimised it (warm-up-verify.ts: hundreds of calls, more than any number of pods would make
 * here). It contacts no registry the operator configured and shares nothing with the serving
 * engine. It never fails the start: a problem (or the time bound) is reported, and readiness
 * proceeds without it.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { toAuditLine } from '../audit/writer.js';
import { errorMessage } from '../errors.js';
import { DeadlineWatch } from '../review/deadline.js';
import { runReview } from '../review/run.js';
import { validateRequest } from '../review/validate.js';
import { setupEngine } from './setup.js';
import type { ImagePolicyDocument } from '../policy/policy.schema.js';
import {
  digestOf,
  imageDocuments,
  legacySignatureDocuments,
  OCI_MANIFEST,
  simpleSigningPayload,
} from './signed-image-builder.js';
import {
  keylessSigner,
  WARM_UP_ISSUER,
  WARM_UP_ROOT,
  WARM_UP_SUBJECT,
  type KeylessSigner,
} from './warm-up-keyless.js';
import { serveContent, type Content } from './warm-up-registry.js';
import { warmVerification, type HotVerification } from './warm-up-verify.js';

export interface WarmUpOptions {
  /** Pods reviewed, one after the other (default 3). */
  pods?: number;
  /** Distinct images per pod (default 4): each pod's are new, so each is a cold review. */
  imagesPerPod?: number;
  /** The warm-up gives up after this long (default 10 s); readiness then proceeds without it. */
  timeoutMs?: number;
  /** Also as many pods of keyless-signed images (serve: when a loaded policy names a keyless authority). */
  keyless?: boolean;
  /**
   * Then verifications of each signature form run in-process (warm-up-verify.ts), until V8 has
   * optimised them (default HOT_ROUNDS; 0: none), stopping at 80 % of `timeoutMs` at the latest.
   */
  verifyRounds?: number;
  /** The throwaway keyless signer (default: a new one); tests sign with it to prove it trusted nowhere else. */
  keylessSigner?: KeylessSigner;
  /** Told after each round of in-process verifications (bench: the per-round cost). */
  onVerifyRound?: (round: number) => void;
}

/** In-process verifications per signature form: where the per-call cost stops falling (docs/benchmarks.md). */
export const HOT_ROUNDS = 500;

export interface WarmUpResult {
  /** Whether every warm-up pod was reviewed and allowed. */
  ok: boolean;
  /** Pods reviewed and allowed, keyless ones included. */
  pods: number;
  /** Of them, keyless-signed (allowed by a keyless authority only: the keyless path ran). */
  keylessPods: number;
  /** Requests the synthetic registry answered: 4 per image, + the first one's referrers API probe. */
  requests: number;
  /** In-process verifications that ran and passed, per signature form (warm-up-verify.ts). */
  verified: HotVerification['verified'];
  /** Time the in-process verifications took, and why they stopped early (the deadline). */
  verifyMs: number;
  verifyStopped?: string;
  ms: number;
  /** What went wrong, when not ok. */
  problem?: string;
}

type Signer = (payload: Buffer) => Promise<{ signature: Buffer; annotations?: Record<string, string> }>;

/** One image and its `.sig` (signed-image-builder.ts), under `/v2/<repo>/…` paths. */
async function signedImage(
  host: string,
  repo: string,
  signer: Signer,
  content: Map<string, Content>,
): Promise<string> {
  const image = imageDocuments({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' } }, [
    Buffer.from(`imagegate warm-up ${repo}`),
  ]);
  const payload = simpleSigningPayload(`${host}/${repo}`, image.digest);
  const signed = await signer(payload);
  const sig = legacySignatureDocuments(image.digest, payload, signed.signature, signed.annotations);
  content.set(`/v2/${repo}/manifests/${image.digest}`, { type: OCI_MANIFEST, body: image.manifest });
  content.set(`/v2/${repo}/manifests/${sig.tag}`, { type: OCI_MANIFEST, body: sig.manifest });
  for (const blob of [...image.blobs, ...sig.blobs])
    content.set(`/v2/${repo}/blobs/${digestOf(blob)}`, { type: 'application/octet-stream', body: blob });
  return `${host}/${repo}@${image.digest}`;
}

/** The key policy over `HOST/warm-up/key/**`, and with `keyless`, a keyless one over `…/keyless/**`. */
function policyYaml(host: string, publicPem: string, keyless: boolean): string {
  const pem = publicPem
    .trim()
    .split('\n')
    .map((l) => `            ${l}`)
    .join('\n');
  const head = (name: string, glob: string): string[] => [
    'apiVersion: imagegate.dev/v1alpha1',
    'kind: ImagePolicy',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  mode: enforce',
    '  onError: deny',
    '  images:',
    `    - glob: '${host}/warm-up/${glob}/**'`,
    '  signature:',
    '    authorities:',
  ];
  const key = [...head('warm-up', 'key'), '      - name: warm-up', '        key:', '          pem: |', pem];
  const keylessPolicy = [
    '---',
    ...head('warm-up-keyless', 'keyless'),
    '      - name: warm-up-keyless',
    '        keyless:',
    `          issuer: ${WARM_UP_ISSUER}`,
    `          subject: ${WARM_UP_SUBJECT}`,
    `          trustedRoot: ${WARM_UP_ROOT}`,
  ];
  return [...key, ...(keyless ? keylessPolicy : []), ''].join('\n');
}

/** Whether any policy names a keyless authority (signature, bases or attestations). */
export function namesKeyless(docs: readonly ImagePolicyDocument[]): boolean {
  return docs.some((d) =>
    [
      d.spec.signature,
      ...(d.spec.base?.allowed ?? []).map((a) => a.signature),
      ...(d.spec.attestations ?? []),
    ].some((spec) => spec?.authorities.some((a) => a.keyless !== undefined) === true),
  );
}

function podReview(images: readonly string[], n: number): unknown {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `imagegate-warm-up-${n}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'imagegate-warm-up',
      operation: 'CREATE',
      userInfo: { username: 'imagegate:warm-up' },
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'warm-up', namespace: 'imagegate-warm-up' },
        spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) },
      },
    },
  };
}

/** Runs the warm-up; resolves (never rejects) with what it did. */
export async function warmUp(options: WarmUpOptions = {}): Promise<WarmUpResult> {
  const started = performance.now();
  const pods = options.pods ?? 3;
  const perPod = options.imagesPerPod ?? 4;
  const content = new Map<string, Content>();
  let registry: Awaited<ReturnType<typeof serveContent>> | undefined;
  let dir: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let done = 0;
  let keylessDone = 0;
  let hot: HotVerification | undefined;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const result = (problem?: string): WarmUpResult => ({
    ok: problem === undefined,
    pods: done,
    keylessPods: keylessDone,
    requests: registry?.requests() ?? 0,
    verified: { ...hot?.verified },
    verifyMs: hot?.ms ?? 0,
    ...(hot?.stopped !== undefined ? { verifyStopped: hot.stopped } : {}),
    ms: performance.now() - started,
    ...(problem !== undefined ? { problem } : {}),
  });
  const run = async (): Promise<WarmUpResult> => {
    registry = await serveContent(content);
    const host = registry.host;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const signers: Array<[string, Signer]> = [
      ['key', (p) => Promise.resolve({ signature: sign('sha256', p, privateKey) })],
    ];
    dir = await mkdtemp(join(tmpdir(), 'imagegate-warm-up-'));
    const trustedRoot: string[] = [];
    let keyless: KeylessSigner | undefined;
    if (options.keyless === true) {
      keyless = options.keylessSigner ?? (await keylessSigner());
      signers.push(['keyless', keyless.sign]);
      const file = join(dir, 'trusted_root.json');
      await writeFile(file, JSON.stringify(keyless.trustedRoot));
      trustedRoot.push(`${WARM_UP_ROOT}=${file}`);
    }
    const images: Array<{ kind: string; refs: string[] }> = [];
    for (const [kind, signer] of signers)
      for (let p = 0; p < pods; p++) {
        const refs: string[] = [];
        for (let i = 0; i < perPod; i++)
          refs.push(await signedImage(host, `warm-up/${kind}/p${p}/i${i}`, signer, content));
        images.push({ kind, refs });
      }
    const policy = join(dir, 'policy.yaml');
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await writeFile(policy, policyYaml(host, pem, options.keyless === true));
    const setup = await setupEngine(
      { policy: [policy], insecureRegistry: [host], allowRegistry: [host], trustedRoot, logLevel: 'info' },
      pino({ level: 'silent' }),
    );
    const deadlines = new DeadlineWatch();
    try {
      for (const [n, pod] of images.entries()) {
        const r = await runReview(podReview(pod.refs, n), {
          engine: setup.engine,
          handler: validateRequest,
          mayDeny: true,
          // the audit line is made (its code warms too) and dropped: no warm-up record reaches the log
          audit: { write: (record) => void toAuditLine(record) },
          deadlines,
        });
        if (r.response.response.allowed !== true)
          return result(
            `warm-up pod ${n} (${pod.kind}) was not allowed: ${r.response.response.status?.message ?? 'no message'}`,
          );
        done++;
        if (pod.kind === 'keyless') keylessDone++;
      }
      const rounds = options.verifyRounds ?? HOT_ROUNDS;
      if (rounds <= 0) return result();
      hot = await warmVerification({
        rounds,
        deadline: started + timeoutMs * 0.8,
        keyPem: pem,
        signWithKey: (data) => sign('sha256', data, privateKey),
        ...(keyless !== undefined
          ? {
              keyless: {
                signer: keyless,
                authority: { issuer: WARM_UP_ISSUER, subject: WARM_UP_SUBJECT, trustedRoot: WARM_UP_ROOT },
              },
            }
          : {}),
        trustedRoots: setup.trustedRoots,
        ...(options.onVerifyRound !== undefined ? { onRound: options.onVerifyRound } : {}),
      });
      return result(hot.problem);
    } finally {
      await setup.registry.close();
    }
  };
  const bound = new Promise<WarmUpResult>((resolve) => {
    timer = setTimeout(() => resolve(result(`not done within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([run().catch((err: unknown) => result(errorMessage(err))), bound]);
  } finally {
    clearTimeout(timer);
    await registry?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }
}
