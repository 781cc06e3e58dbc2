import type { V1Secret, V1ServiceAccount } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  credentialChain,
  Keyring,
  NOT_NOW,
  pullSecretProvider,
  type CredentialProvider,
  type PullIdentity,
  type PullSecretSource,
} from '../../../src/registry/credentials/index.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

function dockerSecret(name: string, auths: Record<string, string>): V1Secret {
  const json = Object.fromEntries(Object.entries(auths).map(([k, user]) => [k, { auth: b64(`${user}:pw`) }]));
  return {
    type: 'kubernetes.io/dockerconfigjson',
    metadata: { name, namespace: 'shop' },
    data: { '.dockerconfigjson': b64(JSON.stringify({ auths: json })) },
  };
}

/** An in-memory namespace `shop` answering like the API server (404 for what it does not hold). */
class Namespace implements PullSecretSource {
  reads: string[] = [];
  refuse = false;
  constructor(
    readonly secrets: Record<string, V1Secret>,
    readonly serviceAccounts: Record<string, V1ServiceAccount>,
  ) {}
  #answer<T>(kind: string, name: string, found: T | undefined): Promise<T> {
    this.reads.push(`${kind}/${name}`);
    if (this.refuse) return Promise.reject(Object.assign(new Error('forbidden'), { code: 403 }));
    if (found === undefined) return Promise.reject(Object.assign(new Error('not found'), { code: 404 }));
    return Promise.resolve(found);
  }
  readNamespacedSecret(p: { name: string; namespace: string }): Promise<V1Secret> {
    return this.#answer('secret', p.name, this.secrets[p.name]);
  }
  readNamespacedServiceAccount(p: { name: string; namespace: string }): Promise<V1ServiceAccount> {
    return this.#answer('serviceaccount', p.name, this.serviceAccounts[p.name]);
  }
}

const pod: PullIdentity = { namespace: 'shop', pullSecrets: ['pod-cred'] };

function shop(): Namespace {
  return new Namespace(
    {
      'pod-cred': dockerSecret('pod-cred', { 'r.io': 'pod' }),
      'sa-cred': dockerSecret('sa-cred', { 'r.io/team': 'sa', 's.io': 'sa' }),
    },
    { default: { imagePullSecrets: [{ name: 'sa-cred' }] } },
  );
}

const user = async (
  p: { credentialsFor: Keyring['credentialsFor'] },
  registry: string,
  repository: string,
  identity?: PullIdentity,
): Promise<string | undefined> => {
  const c = await p.credentialsFor({ registry, repository, identity });
  return c?.kind === 'basic' ? c.username : undefined;
};

/** credentialsNow's user, or NOT_NOW; throws where the provider has no credentialsNow. */
const userNow = (
  p: CredentialProvider,
  registry: string,
  repository: string,
  identity?: PullIdentity,
): string | undefined | typeof NOT_NOW => {
  if (p.credentialsNow === undefined) throw new Error(`${p.name} has no credentialsNow`);
  const c = p.credentialsNow({ registry, repository, identity });
  return c === NOT_NOW ? c : c?.kind === 'basic' ? c.username : undefined;
};

describe('the credential chain', () => {
  const registryConfig = new Keyring([['r.io', { kind: 'basic', username: 'config', password: 'x' }]]);
  const dockerConfig = new Keyring([
    ['r.io', { kind: 'basic', username: 'docker', password: 'x' }],
    ['d.io', { kind: 'basic', username: 'docker', password: 'x' }],
  ]);

  it('asks pull secrets, then the registry config, then the docker config', async () => {
    const chain = credentialChain({
      pullSecrets: pullSecretProvider(shop()),
      registryConfig,
      dockerConfig,
    });
    expect(await user(chain, 'r.io', 'app', pod)).toBe('pod');
    expect(await user(chain, 'r.io', 'app')).toBe('config'); // no pod: no pull secrets
    expect(await user(chain, 'd.io', 'app', pod)).toBe('docker');
    expect(await user(chain, 'n.io', 'app', pod)).toBeUndefined();
  });

  it('answers synchronously (credentialsNow) only when no provider calls out, with credentialsFor’s answer', async () => {
    const memory = credentialChain({ registryConfig, dockerConfig });
    for (const [registry, expected] of [
      ['r.io', 'config'],
      ['d.io', 'docker'],
      ['n.io', undefined],
    ] as const) {
      expect(userNow(memory, registry, 'app')).toBe(expected);
      expect(await user(memory, registry, 'app')).toBe(expected);
    }
    expect(credentialChain({}).credentialsNow?.({ registry: 'r.io', repository: 'app' })).toBeUndefined();
    expect(credentialChain({}).credentialsNow).toBeDefined();
  });

  it('answers synchronously with pull secrets only from a read that has settled, per namespace', async () => {
    const ns = shop();
    let now = 1_000;
    const chain = credentialChain({
      pullSecrets: pullSecretProvider(ns, { ttlMs: 30_000, now: () => now }),
      registryConfig,
    });
    // nothing read yet: the pull secrets would be read, so not even registryConfig's answer is given
    expect(userNow(chain, 'r.io', 'app', pod)).toBe(NOT_NOW);
    expect(ns.reads).toEqual([]); // and asking synchronously reads nothing
    const first = { ...pod };
    const pending = user(chain, 'r.io', 'app', first);
    expect(userNow(chain, 'r.io', 'app', first)).toBe(NOT_NOW); // its read is in flight
    expect(await pending).toBe('pod');
    for (const [registry, repository] of [
      ['r.io', 'app'],
      ['r.io', 'team/app'],
      ['s.io', 'app'],
      ['n.io', 'app'],
    ] as const) {
      const next = { ...pod }; // another request, same namespace, service account and secrets
      expect(userNow(chain, registry, repository, next)).toBe(await user(chain, registry, repository, next));
    }
    expect(userNow(chain, 'r.io', 'team/app', { ...pod })).toBe('sa');
    expect(userNow(chain, 'r.io', 'app')).toBe('config'); // no pod: no pull secrets
    // another namespace (or other secrets) never answers from shop's keyring
    expect(userNow(chain, 'r.io', 'app', { ...pod, namespace: 'other' })).toBe(NOT_NOW);
    expect(userNow(chain, 'r.io', 'app', { ...pod, pullSecrets: [] })).toBe(NOT_NOW);
    expect(ns.reads).toHaveLength(3);
    now += 30_000; // past the TTL: read again, as credentialsFor would
    expect(userNow(chain, 'r.io', 'app', { ...pod })).toBe(NOT_NOW);
    // a refused read: that request is anonymous for pull secrets, the next one is not answered from it
    ns.refuse = true;
    const refused = { ...pod };
    expect(await user(chain, 'r.io', 'app', refused)).toBe('config');
    expect(userNow(chain, 'r.io', 'app', refused)).toBe('config');
    expect(userNow(chain, 'r.io', 'app', { ...pod })).toBe(NOT_NOW);
  });

  describe('pull secrets', () => {
    it('merges the pod and service account secrets into one keyring: the longest key wins', async () => {
      const p = pullSecretProvider(shop());
      expect(await user(p, 'r.io', 'team/app', pod)).toBe('sa');
      expect(await user(p, 'r.io', 'other/app', pod)).toBe('pod');
      expect(await user(p, 's.io', 'app', pod)).toBe('sa');
    });

    it('reads each identity once within the TTL and again after it', async () => {
      const ns = shop();
      let now = 1_000;
      const p = pullSecretProvider(ns, { ttlMs: 30_000, now: () => now });
      await user(p, 'r.io', 'a', pod);
      await user(p, 's.io', 'b', pod);
      expect(ns.reads).toEqual(['serviceaccount/default', 'secret/pod-cred', 'secret/sa-cred']);
      await user(p, 'r.io', 'a', { ...pod }); // another request within the TTL
      expect(ns.reads).toHaveLength(3);
      now += 30_000;
      await user(p, 'r.io', 'a', { ...pod });
      expect(ns.reads).toHaveLength(6);
    });

    it('answers anonymously, reports and does not cache when the API refuses', async () => {
      const ns = shop();
      ns.refuse = true;
      const errors: unknown[] = [];
      const p = pullSecretProvider(ns, { onError: (_identity, err) => errors.push(err) });
      expect(await user(p, 'r.io', 'a', pod)).toBeUndefined();
      expect(errors[0]).toMatchObject({ code: 'CREDENTIALS_UNAVAILABLE', indeterminate: true });
      expect(await user(p, 's.io', 'b', pod)).toBeUndefined(); // same request: no second read
      expect(errors).toHaveLength(1);
      ns.refuse = false;
      expect(await user(p, 'r.io', 'a', { ...pod })).toBe('pod'); // the next request reads again
    });
  });
});
