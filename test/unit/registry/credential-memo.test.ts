/**
 * A review asks the credential chain once per repository (transport.ts `RequestContext.found`): an
 * answer is reused for the review's other requests to that repository, never for another repository
 * or registry, and a failed lookup is asked again rather than remembered.
 */
import { describe, expect, it } from 'vitest';
import type { Credential, CredentialProvider } from '../../../src/registry/credentials/provider.js';
import { credentialFor, type RequestContext } from '../../../src/registry/transport.js';

function counting(answer: (n: number) => Promise<Credential | undefined>) {
  const asked: string[] = [];
  const provider: CredentialProvider = {
    name: 'counting',
    credentialsFor: (r) => {
      asked.push(`${r.registry}/${r.repository}`);
      return answer(asked.length);
    },
  };
  return { provider, asked };
}

const review = (credentials: CredentialProvider): RequestContext => ({
  credentials,
  identity: { namespace: 'team-a' },
  deadline: undefined,
  found: new Map(),
});

describe('credential lookups within one review', () => {
  it('asks the chain once per registry and repository, and answers the same credential', async () => {
    const secret: Credential = { kind: 'basic', username: 'u', password: 'p' };
    const { provider, asked } = counting(() => Promise.resolve(secret));
    const ctx = review(provider);
    const first = await credentialFor(ctx, 'r.example', 'app');
    for (let i = 0; i < 5; i++) expect(await credentialFor(ctx, 'r.example', 'app')).toBe(first);
    await credentialFor(ctx, 'r.example', 'other');
    await credentialFor(ctx, 'mirror.example', 'app');
    expect(asked).toEqual(['r.example/app', 'r.example/other', 'mirror.example/app']);
    // another review asks again (its own identity, its own answers)
    await credentialFor(review(provider), 'r.example', 'app');
    expect(asked).toHaveLength(4);
  });

  it('asks again after a failed lookup instead of remembering the failure', async () => {
    const { provider, asked } = counting((n) =>
      n === 1 ? Promise.reject(new Error('token service down')) : Promise.resolve(undefined),
    );
    const ctx = review(provider);
    await expect(credentialFor(ctx, 'r.example', 'app')).rejects.toThrow('token service down');
    await expect(credentialFor(ctx, 'r.example', 'app')).resolves.toBeUndefined();
    await credentialFor(ctx, 'r.example', 'app');
    expect(asked).toHaveLength(2);
  });

  it('asks every time without a review memo (callers that make no RequestContext.found)', async () => {
    const { provider, asked } = counting(() => Promise.resolve(undefined));
    const ctx: RequestContext = { credentials: provider, identity: undefined, deadline: undefined };
    await credentialFor(ctx, 'r.example', 'app');
    await credentialFor(ctx, 'r.example', 'app');
    expect(asked).toHaveLength(2);
  });
});
