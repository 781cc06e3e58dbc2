/**
 * Redirect following that never leaks the registry's credentials to another origin, never goes to
 * a loopback, link-local or unspecified address unless the registry itself is there, and with an
 * allowlist never connects to a host outside it.
 */
import { RegistryError } from '../errors.js';
import type { Connections } from './connections.js';
import { discard, header, type HttpResponse } from './http.js';
import type { RequestUrl } from './request-url.js';
import { assertRedirectAllowed } from './targets.js';

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export interface RedirectingRequest {
  method: 'GET' | 'HEAD';
  url: RequestUrl;
  headers: Record<string, string>;
  what: string;
  maxRedirects: number;
  /** Epoch ms when the review's budget ends: how long to queue for a connection slot. */
  deadline: number | undefined;
}

/** GET/HEAD following redirects; credentials are only sent to the registry's own origin. */
export async function followRedirects(
  connections: Connections,
  registry: string,
  req: RedirectingRequest,
  signal: AbortSignal,
): Promise<HttpResponse> {
  const { url, what, maxRedirects } = req;
  const origin = url.origin;
  let current: RequestUrl = url;
  let h = req.headers; // replaced (never changed) when a redirect leaves the origin
  for (let hops = 0; ; hops++) {
    const target = current;
    // the registry's own TLS settings; another host uses its own entry (if any) or the system roots
    const dispatcher = connections.agent(target.host === url.host ? registry : target.host);
    const res = await connections.request(
      registry,
      { method: req.method, url: target, headers: h, dispatcher, signal, timeoutMs: connections.timeoutMs },
      what,
      req.deadline,
    );
    if (!REDIRECTS.has(res.status)) return res;
    const location = header(res, 'location');
    await discard(res);
    if (location === undefined) {
      // the registry's answer, not an outage: a completed finding whatever onError says
      throw new RegistryError('REGISTRY_ERROR', `${what}: HTTP ${res.status} redirect without Location`);
    }
    if (hops >= maxRedirects) {
      throw new RegistryError('TOO_MANY_REDIRECTS', `${what}: more than ${maxRedirects} redirects`, {
        indeterminate: true,
      });
    }
    const next = new URL(location, current.href);
    const sameOrigin = next.origin === origin;
    // plain http only where the registry itself already is (an `insecure` registry)
    if (next.protocol !== 'https:' && !(next.protocol === 'http:' && sameOrigin)) {
      throw new RegistryError(
        'REGISTRY_ERROR',
        `${what}: refusing redirect to ${next.protocol}//${next.host} (imagegate follows only https ` +
          `redirects, or plain http on the registry's own origin when it is an insecure registry)`,
      );
    }
    assertRedirectAllowed(next, url, what);
    if (next.host !== url.host && !connections.mayRedirectTo(next.host)) {
      throw new RegistryError(
        'REDIRECT_REFUSED',
        `${what}: redirect to ${next.host}, which is not in the allowlist of registries imagegate may ` +
          `contact (--allow-registry); add it there if ${registry} serves content from it`,
      );
    }
    if (!sameOrigin) {
      const { authorization: _dropped, ...rest } = h;
      h = rest;
    }
    current = next;
  }
}
