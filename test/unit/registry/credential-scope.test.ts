import { describe, expect, it } from 'vitest';
import {
  credentialKey,
  type Credential,
  type CredentialProvider,
  type CredentialRequest,
} from '../../../src/registry/credentials/provider.js';
import { credentialFor, credentialScope, type RequestContext } from '../../../src/registry/transport.js';

function counting(answer: (r: CredentialRequest, n: number) => Promise<Credential | undefined>): {
  provider: CredentialProvider;
  asked: CredentialRequest[];
} {
  const asked: CredentialRequest[] = [];
  return {
    asked,
    provider: { name: 'test', credentialsFor: (r) => (asked.push(r), answer(r, asked.length)) },
  };
}

const review = (credentials: CredentialProvider, deadline?: number): RequestContext => ({
  credentials,
  identity: undefined,
  deadline,
  found: new Map(),
});

describe('credentialScope (the reuse key’s credential scope, per review)', () => {
  it('asks the chain once per repository and review and answers the credential’s key', async () => {
    const secret: Credential = { kind: 'basic', username: 'u', password: 'p' };
    const { provider, asked } = counting((r) => Promise.resolve(r.repository === 'a' ? secret : undefined));
    const ctx = review(provider);
    expect(await credentialScope(ctx, 'r.example', 'a')).toBe(credentialKey(secret));
    expect(await credentialScope(ctx, 'r.example', 'a')).toBe(credentialKey(secret));
    expect(await credentialScope(ctx, 'r.example', 'b')).toBe('anonymous');
    expect(asked.map((r) => r.repository)).toEqual(['a', 'b']);
    // another review (another namespace's pull secrets) asks again and gets its own scope
    const token: Credential = { kind: 'identityToken', token: 't' };
    const other = counting(() => Promise.resolve(token));
    expect(await credentialScope(review(other.provider), 'r.example', 'a')).not.toBe(credentialKey(secret));
    expect(other.asked).toHaveLength(1);
  });

  it('remembers no failure: a lookup that failed is asked again', async () => {
    const { provider, asked } = counting((_r, n) =>
      n === 1 ? Promise.reject(new Error('token service down')) : Promise.resolve(undefined),
    );
    const ctx = review(provider);
    await expect(credentialScope(ctx, 'r.example', 'a')).rejects.toThrow('token service down');
    expect(await credentialScope(ctx, 'r.example', 'a')).toBe('anonymous');
    expect(asked).toHaveLength(2);
  });

  it('gives a provider that reads it the deadline as a signal, and the request’s fields', async () => {
    const { provider, asked } = counting(() => Promise.resolve(undefined));
    await credentialFor(review(provider, Date.now() + 60_000), 'r.example', 'a');
    await credentialFor(review(provider, Date.now() - 1), 'r.example', 'b');
    const [later, past] = asked;
    expect(later).toMatchObject({ registry: 'r.example', repository: 'a', identity: undefined });
    expect(later?.signal?.aborted).toBe(false);
    const signal = past?.signal;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toMatchObject({ name: 'TimeoutError' });
  });
});
