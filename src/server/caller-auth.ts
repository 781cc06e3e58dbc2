/**
 * Who is calling the review routes. Only the API server's word decides whose pull credentials and
 * which namespace apply (issue 20, property 4): with `--pull-secrets` the namespace and secret names
 * come from the request body, so anyone who reaches the port could name another namespace's secret
 * and read what imagegate learnt with it. Two rules:
 * - with `--client-ca`, /validate and /mutate answer only callers whose certificate that CA verified
 *   (403 CLIENT_CERT_REQUIRED, before the body is read); the probes and /metrics need none;
 * - with `--pull-secrets` and a caller without such a certificate, the answer carries the verdict but
 *   nothing read from a registry: no message, warning, patch or annotation; the audit record has
 *   the details.
 */
import type { TLSSocket } from 'node:tls';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface CallerAuthOptions {
  /** Review routes refuse callers without a certificate verified by the client CA (`--client-ca`). */
  requireClientCert?: boolean;
  /** Pull secrets are in use: answers to unauthenticated callers carry no registry-derived details. */
  withholdFromUnauthenticated?: boolean;
}

/** Whether the caller presented a certificate the configured client CA verified. */
export function isAuthenticated(request: FastifyRequest): boolean {
  return (request.raw.socket as Partial<TLSSocket>).authorized === true;
}

/** An onRequest hook for the review routes: refuses callers without a verified certificate. */
export function requireClientCert(options: CallerAuthOptions) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (options.requireClientCert !== true || isAuthenticated(request)) return;
    const why = (request.raw.socket as Partial<TLSSocket>).authorizationError;
    await reply
      .code(403)
      .header('connection', 'close')
      .send({
        error: {
          code: 'CLIENT_CERT_REQUIRED',
          message:
            `${request.routeOptions.url ?? 'this route'} answers only the API server: a client certificate ` +
            `signed by the --client-ca is required (${why === undefined || why === null ? 'none presented' : String(why)})`,
        },
      });
  };
}

interface ReviewEnvelope {
  apiVersion?: unknown;
  kind?: unknown;
  response?: {
    uid?: unknown;
    allowed?: unknown;
    status?: { code?: unknown };
    warnings?: unknown[];
    patch?: unknown;
  };
}

export const WITHHELD =
  'imagegate: details withheld: pull secrets are in use and the caller presented no client certificate ' +
  'verified by --client-ca; the audit record has them';

/** The answer without anything a registry said: uid, allowed, the status code and one note. */
export function withholdDetails(envelope: unknown): unknown {
  const e = envelope as ReviewEnvelope;
  const r = e.response;
  if (r === undefined) return envelope;
  const allowed = r.allowed === true;
  const code = typeof r.status?.code === 'number' ? r.status.code : 403;
  // An allowed answer says so only when something was withheld: no note on every pod created.
  const said = (r.warnings?.length ?? 0) > 0 || r.patch !== undefined;
  const note = allowed
    ? said
      ? { warnings: [WITHHELD] }
      : {}
    : { status: { code, reason: 'Forbidden', message: WITHHELD } };
  return { apiVersion: e.apiVersion, kind: e.kind, response: { uid: r.uid, allowed, ...note } };
}
