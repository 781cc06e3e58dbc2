/**
 * buildApp(deps): the Fastify instance with every route. Never listens and never reads the
 * environment: main.ts and tests decide how it runs.
 */
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { AuditWriter } from '../audit/writer.js';
import type { Engine } from '../evaluate/engine.js';
import { describeRequestError, REQUEST_ERROR_STATUS } from '../error-status.js';
import {
  DeadlineWatch,
  parseTimeout,
  pinDigests,
  runReview,
  validateRequest,
  type ReviewHandler,
  unusableMutateResult,
  type ReviewResult,
} from '../review/index.js';
import {
  BodyBudgetError,
  useBodyBudget,
  type BodyBudgetOptions,
  type BodyBudgetState,
} from './body-budget.js';
import {
  isAuthenticated,
  requireClientCert,
  withholdDetails,
  type CallerAuthOptions,
} from './caller-auth.js';
import { useJsonBodyParser } from './json-body.js';
import type { Metrics } from './metrics.js';

/** API objects may be 1.5 MiB and a review carries object + oldObject. */
export const DEFAULT_BODY_LIMIT = 3 * 1024 * 1024;

export interface AppDeps {
  engine: Engine;
  audit: AuditWriter;
  metrics: Metrics;
  logger: Logger;
  /**
   * Ready once policies are loaded. `degraded` lists what works partially (e.g. an unavailable trusted
   * root): the server stays ready — taking every replica out would stop all admissions — and says why.
   */
  /** `unmatched`: the rule in force for images no policy governs, shown as is. */
  readiness: () => { ready: boolean; reason?: string; degraded?: string[]; unmatched?: string };
  https?: HttpsServerOptions;
  bodyLimit?: number;
  /** Who may call the review routes and what unauthenticated callers are told (server/caller-auth.ts). */
  callerAuth?: CallerAuthOptions;
  /** Bodies in flight: count, bytes together, receive deadline (server/body-budget.ts). */
  bodyBudget?: BodyBudgetOptions;
  /** Serve /mutate (digest pinning) with this handler, or with pinDigests for `true`. */
  mutate?: ReviewHandler | boolean;
}

interface ErrorBody {
  error: { code: string; message: string };
}

function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

/** The app and what its body budget holds now (tests and metrics read it). */
export type ImagegateApp = FastifyInstance & { bodiesInFlight: BodyBudgetState };

export function buildApp(deps: AppDeps): ImagegateApp {
  const { engine, audit, metrics } = deps;
  const app = Fastify({
    loggerInstance: deps.logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.bodyLimit ?? DEFAULT_BODY_LIMIT,
    return503OnClosing: true,
    requestTimeout: 60_000,
    ...(deps.https !== undefined ? { https: deps.https } : {}),
  }) as unknown as FastifyInstance; // The https variant has a different server type; routes are the same.
  // Reviews are JSON only: without this, Fastify's built-in text/plain parser hands the handler a string
  // and a JSON body sent as text/plain is answered "not a JSON object" instead of 415.
  app.removeContentTypeParser('text/plain');
  useJsonBodyParser(app);
  // With a client CA only the API server's bodies are read (every slot is its own, by construction).
  const bodies = useBodyBudget(app, deps.bodyBudget ?? {}, deps.bodyLimit ?? DEFAULT_BODY_LIMIT, undefined, {
    verifiedOnly: deps.callerAuth?.requireClientCert === true,
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    // Before the /mutate rule: a refused or late body is answered as such, and its socket closed.
    if (err instanceof BodyBudgetError) {
      metrics.badRequests.inc({ code: err.code });
      request.log.warn({ code: err.code }, err.message);
      return reply.code(err.statusCode).send(errorBody(err.code, err.message));
    }
    // /mutate only pins digests: a 4xx there would fail the request under failurePolicy: Fail, so a
    // body it cannot use is allowed unchanged, with its audit record (review/unusable.ts), and the
    // validating webhook (or the API server's own validation) decides about the object.
    if (request.routeOptions.url === '/mutate' && !(err.statusCode !== undefined && err.statusCode >= 500)) {
      const { code } = describeRequestError(err, deps.bodyLimit ?? DEFAULT_BODY_LIMIT);
      metrics.badRequests.inc({ code });
      request.log.warn({ code }, `mutate: request not usable, allowed without a patch: ${err.message}`);
      const result = unusableMutateResult(request.body, code, err.message, performance.now());
      audit.write(result.record);
      return reply.code(200).send(result.response);
    }
    const d = describeRequestError(err, deps.bodyLimit ?? DEFAULT_BODY_LIMIT);
    if (d.status >= 500) request.log.error({ err }, 'unexpected error');
    else {
      metrics.badRequests.inc({ code: d.code });
      request.log.warn({ code: d.code }, d.message);
    }
    return reply.code(d.status).send(errorBody(d.code, d.message));
  });
  app.setNotFoundHandler((request, reply) => {
    return reply
      .code(REQUEST_ERROR_STATUS.NOT_FOUND)
      .send(errorBody('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
  });

  function record(result: ReviewResult): void {
    const { decision, operation, latencyMs } = result.record;
    metrics.reviewTally.review(decision, operation, latencyMs / 1000, result.verdict?.images ?? []);
    for (const e of result.verdict?.exempted ?? [])
      metrics.exemptions.inc({ policy: e.policy, exception: e.exception });
  }

  /** The deadlines of this server's reviews: its own, so two servers in one process share nothing. */
  const deadlines = new DeadlineWatch();
  /** Both review routes are wired alike: run.ts owns the deadline, fallback and audit record. */
  const callerAuth = deps.callerAuth ?? {};
  // Without a client CA there is nothing to guard: no hook (a promise per review) at all.
  const guarded = callerAuth.requireClientCert === true ? { onRequest: requireClientCert(callerAuth) } : {};
  function route(path: string, handler: ReviewHandler, mayDeny: boolean): void {
    app.post<{ Querystring: { timeout?: string } }>(path, guarded, async (request) => {
      const timeoutMs = parseTimeout(request.query.timeout);
      const result = await runReview(request.body, {
        engine,
        handler,
        mayDeny,
        audit,
        deadlines,
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      });
      record(result);
      if (callerAuth.withholdFromUnauthenticated === true && !isAuthenticated(request))
        return withholdDetails(result.response);
      return result.response;
    });
  }

  route('/validate', validateRequest, true);
  if (deps.mutate !== undefined && deps.mutate !== false) {
    route('/mutate', deps.mutate === true ? pinDigests : deps.mutate, false);
  }

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const r = deps.readiness();
    return reply.code(r.ready ? 200 : 503).send(
      r.ready
        ? {
            status: 'ready',
            ...(r.degraded !== undefined && r.degraded.length > 0 ? { degraded: r.degraded } : {}),
            ...(r.unmatched !== undefined ? { unmatched: r.unmatched } : {}),
          }
        : {
            status: 'not ready',
            reason: r.reason,
            ...(r.unmatched !== undefined ? { unmatched: r.unmatched } : {}),
          },
    );
  });
  app.get('/metrics', async (_request, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return Object.assign(app, { bodiesInFlight: bodies });
}
