/**
 * The per-request timeout bounds the whole exchange, not only the wait for headers or between body
 * chunks: a registry that answers at once and then drips a byte every 50 ms (never idle long enough
 * for undici's own body timeout) is cut at requestTimeoutMs with TIMEOUT, its connection slots are
 * given back, and a caller's abort still ends an exchange in flight with the caller's reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryError } from '../../../src/errors.js';
import { createRegistry, parseReference } from '../../../src/registry/index.js';
import { Connections } from '../../../src/registry/connections.js';
import {
  drip,
  pushImage,
  startHostileRegistry,
  stall,
  type HostileRegistry,
} from '../../helpers/hostile-registry.js';

describe('the per-request timeout and abort of a registry exchange', () => {
  let reg: HostileRegistry;
  beforeAll(async () => {
    reg = await startHostileRegistry();
  });
  afterAll(async () => {
    await reg.stop();
  });

  it("cuts a dripping body at requestTimeoutMs (TIMEOUT), before the caller's deadline", async () => {
    pushImage(reg, 'drip/app', '1');
    reg.route(/^GET \/v2\/drip\/app\/manifests\//, drip(50));
    const client = createRegistry({ registries: { [reg.host]: { insecure: true } }, requestTimeoutMs: 400 });
    const deadline = AbortSignal.timeout(20_000);
    const err = await client
      .access()
      .getManifest(parseReference(`${reg.host}/drip/app:1`), '1', deadline)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(RegistryError);
    expect(err).toMatchObject({ code: 'TIMEOUT', indeterminate: true });
    // the per-request timeout ended it, not the caller's deadline
    expect(deadline.aborted).toBe(false);
    await client.close();
  });

  it("ends a stalled exchange with the caller's reason when the caller aborts, and frees its slots", async () => {
    reg.route(/^GET \/v2\/stall\/app\/manifests\//, stall);
    const connections = new Connections({ registries: { [reg.host]: { insecure: true } } }, {});
    const caller = new AbortController();
    const reason = new RegistryError('TIMEOUT', 'the review gave up', { indeterminate: true });
    const pending = connections.request(
      reg.host,
      {
        method: 'GET',
        url: connections.requestUrl(reg.host, '/v2/stall/app/manifests/1'),
        headers: {},
        dispatcher: connections.agent(reg.host),
        signal: caller.signal,
        timeoutMs: 30_000,
      },
      'manifest stall/app:1',
      undefined,
    );
    setTimeout(() => caller.abort(reason), 100);
    await expect(pending).rejects.toBe(reason);
    expect(connections.open.used).toBe(0);
    await connections.close();
  });
});
