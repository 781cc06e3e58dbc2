/**
 * Challenges are registry-controlled text (up to 8 KiB each, one per endpoint a pod names): the
 * authorizer keeps them in at most CHALLENGE_CACHE_BYTES, whatever the number of endpoints.
 */
import { describe, expect, it } from 'vitest';
import { Authorizer, CHALLENGE_CACHE_BYTES } from '../../../src/registry/authorizer.js';
import { Connections } from '../../../src/registry/connections.js';
import type { HttpResponse } from '../../../src/registry/http.js';

function challenge401(realm: string): HttpResponse {
  return {
    status: 401,
    headers: { 'www-authenticate': `Basic realm="${realm}"` },
    body: {
      read: () => Promise.resolve(new Uint8Array()),
      discard: () => Promise.resolve(''),
      destroy: () => undefined,
    },
  };
}

describe('Authorizer challenge cache', () => {
  it('holds at most CHALLENGE_CACHE_BYTES for 2,000 endpoints with 7 KiB challenges', async () => {
    const connections = new Connections({}, {});
    const authorizer = new Authorizer(connections, {});
    const realm = 'r'.repeat(7 * 1024);
    for (let i = 0; i < 2000; i++) {
      await authorizer
        .answer(
          challenge401(realm),
          `host${i}.example:5000`,
          'repository:x:pull',
          undefined,
          'w',
          { deadline: undefined },
          new AbortController().signal,
        )
        .catch(() => undefined); // basic without a credential: UNAUTHORIZED, the challenge is kept
    }
    // 2,000 × ~14 KiB would be ~28 MiB
    expect(authorizer.held.challenges).toBeGreaterThan(0);
    expect(authorizer.held.challenges).toBeLessThanOrEqual(CHALLENGE_CACHE_BYTES);
    await connections.close();
  });
});
