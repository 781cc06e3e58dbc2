/**
 * Property 1 of issue 20: `onError` decides only for availability. A registry that refuses
 * imagegate (401/403, no usable challenge, a token answer without a usable token) or answers an
 * unexpected status has answered, it is not down: a hostile registry could serve the image to the
 * kubelet and refuse imagegate. Through the real HTTPS server, under an enforcing signature + size
 * policy with `onError: allow`, each such answer must deny; a 503 (the control) is still admitted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Setup } from '../../src/cli/setup.js';
import { podReview } from '../helpers/admission-fixtures.js';
import { buildEngine, writePolicyFile } from '../helpers/engine.js';
import {
  OCI_CONFIG,
  OCI_MANIFEST,
  startHostileRegistry,
  type Handler,
  type HostileRegistry,
} from '../helpers/hostile-registry.js';
import { keyPolicyYaml, signingKey } from '../helpers/signed-images.js';
import { startServer, type TestServer } from '../helpers/server.js';

interface Answer {
  allowed: boolean;
  message: string;
  codes: string[];
}

/** How one registry treats imagegate: each scenario has its own (a challenge is remembered per host). */
type Scenario = (reg: HostileRegistry) => void;

const challenge =
  (realm: (reg: HostileRegistry) => string): ((reg: HostileRegistry) => Handler) =>
  (reg) =>
  (req, res) => {
    if (req.headers.authorization === undefined)
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm(reg)}",service="x"` }).end();
    else res.writeHead(401).end();
  };

/** Manifests ask for a Bearer token; the token service answers `body` with `status`. */
const tokenAnswer =
  (status: number, body: string): Scenario =>
  (reg) => {
    reg.route(/^GET \/v2\/app\/manifests\//, challenge((r) => `${r.url}/token`)(reg));
    reg.route(/^GET \/token/, (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    });
  };

const manifestStatus =
  (status: number, headers: Record<string, string> = {}): Scenario =>
  (reg) => {
    reg.route(/^(GET|HEAD) \/v2\/app\/manifests\//, (_req, res) => {
      res.writeHead(status, headers).end('{"errors":[{"code":"DENIED","message":"not for you"}]}');
    });
  };

const REFUSALS: Array<[string, Scenario, string]> = [
  ['401 without a challenge', manifestStatus(401), 'UNAUTHORIZED'],
  ['401 with a malformed challenge', manifestStatus(401, { 'www-authenticate': 'Bearer' }), 'UNAUTHORIZED'],
  ['403', manifestStatus(403), 'UNAUTHORIZED'],
  [
    '401 with a basic challenge (no credentials here)',
    manifestStatus(401, { 'www-authenticate': 'Basic realm="r"' }),
    'UNAUTHORIZED',
  ],
  ['a token service that answers 401', tokenAnswer(401, '{}'), 'UNAUTHORIZED'],
  ['a token service that answers 404', tokenAnswer(404, '{}'), 'UNAUTHORIZED'],
  ['a token answer {"token":12345}', tokenAnswer(200, '{"token":12345}'), 'REGISTRY_CONTENT_INVALID'],
  ['a token answer {}', tokenAnswer(200, '{}'), 'REGISTRY_CONTENT_INVALID'],
  ['a token answer that is not JSON', tokenAnswer(200, 'token=abc'), 'REGISTRY_CONTENT_INVALID'],
  ['HTTP 431', manifestStatus(431), 'REGISTRY_ERROR'],
  ['HTTP 418', manifestStatus(418), 'REGISTRY_ERROR'],
  [
    'a 401 on the .sig manifest only',
    (reg) => {
      reg.route(/^GET \/v2\/app\/manifests\/sha256-/, (_req, res) => res.writeHead(401).end());
    },
    'UNAUTHORIZED',
  ],
];

describe('a registry that refuses imagegate under onError: allow (real server, hostile registry)', () => {
  const registries = new Map<string, HostileRegistry>();
  let setup: Setup;
  let server: TestServer;

  /** A small unsigned image: the signature check must read `.sig` and fail (NO_SIGNATURES). */
  const smallImage = (reg: HostileRegistry): void => {
    const cfg = reg.blob(JSON.stringify({ os: 'linux', architecture: 'amd64' }), OCI_CONFIG);
    const layer = reg.blob('one small layer');
    reg.manifest(
      'app',
      { schemaVersion: 2, mediaType: OCI_MANIFEST, config: cfg, layers: [layer] },
      { tag: '1' },
    );
  };

  const review = async (host: string): Promise<Answer> => {
    const sent = podReview([`${host}/app:1`], { namespace: 'team' });
    const reply = await server.post('/validate', sent);
    const body = reply.json as { response: { allowed: boolean; status?: { message?: string } } };
    await expect.poll(() => server.audit.some((r) => r.uid === sent.request.uid)).toBe(true);
    const record = server.audit.find((r) => r.uid === sent.request.uid);
    const codes = (record?.images ?? []).flatMap((i) =>
      i.policies.flatMap((p) => p.checks.filter((f) => !f.passed).map((f) => f.code)),
    );
    return { allowed: body.response.allowed, message: body.response.status?.message ?? '', codes };
  };

  beforeAll(async () => {
    const scenarios: Array<[string, Scenario]> = [
      ...REFUSALS.map(([name, s]): [string, Scenario] => [name, s]),
      ['503', manifestStatus(503)],
    ];
    for (const [name, scenario] of scenarios) {
      const reg = await startHostileRegistry();
      smallImage(reg);
      scenario(reg);
      registries.set(name, reg);
    }
    const policy = keyPolicyYaml(signingKey(), { onError: 'allow' }).replace(
      '  signature:',
      "  size: { maxCompressed: '1Gi' }\n  signature:",
    );
    setup = await buildEngine({
      policy: [await writePolicyFile(policy)],
      insecureRegistry: [...registries.values()].map((r) => r.host),
    });
    server = await startServer({ engine: setup.engine });
  });

  afterAll(async () => {
    await server?.close();
    await setup?.registry.close();
    await Promise.all([...registries.values()].map((r) => r.stop()));
  });

  describe.each(REFUSALS)('when the registry answers %s', (name, _scenario, code) => {
    it(`denies with ${code}, not left to onError`, async () => {
      const a = await review(registries.get(name)!.host);
      expect(a.allowed, a.message).toBe(false);
      expect(a.codes, a.message).toContain(code);
      if (code === 'UNAUTHORIZED') {
        expect(a.message).toContain('the registry refused imagegate');
        expect(a.message).toContain('give imagegate credentials for this registry');
      }
    });
  });

  describe('when the registry answers 503 (the control: an outage)', () => {
    it('admits under onError: allow with REGISTRY_UNAVAILABLE', async () => {
      const a = await review(registries.get('503')!.host);
      expect(a.codes, a.message).toEqual(['REGISTRY_UNAVAILABLE']);
      expect(a.allowed, a.message).toBe(true);
    });
  });
});
