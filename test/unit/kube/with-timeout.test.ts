/** Every API call outside reviews is bounded (issue 20, property 7): a call that never answers rejects. */
import { describe, expect, it } from 'vitest';
import { withTimeouts } from '../../../src/kube/with-timeout.js';

describe('withTimeouts', () => {
  const api = {
    calls: 0,
    hang(): Promise<string> {
      this.calls += 1;
      return new Promise(() => undefined);
    },
    answer(x: string): Promise<string> {
      return Promise.resolve(`got ${x}`);
    },
    name: 'api',
  };

  it('rejects a call that never answers after the timeout', async () => {
    const timed = withTimeouts(api, 50);
    await expect(timed.hang()).rejects.toThrow('timed out after 50 ms');
    expect(api.calls).toBe(1); // called on the real object (its `this`)
  });

  it('passes answers and other properties through', async () => {
    const timed = withTimeouts(api, 50);
    await expect(timed.answer('x')).resolves.toBe('got x');
    expect(timed.name).toBe('api');
  });
});
