import { fastifyRequestHandler } from '@trpc/server/adapters/fastify';
import { TRPCError, getTRPCErrorShape, transformTRPCResponse } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { codeOfReason, type Reason } from '../../shared';
import type { AppServices } from '../appServices';
import { AppError } from '../errors';
import { refusalOf } from '../requestRefusals';
import { appRouter } from '../root';
import { contextFromRequest } from './requestContext';

/**
 * `/trpc/:path`: tRPC's own Fastify handler on a route of ours (rather than its plugin), so that
 * what reaches it is ours to decide:
 * - JSON only, read as a string under BODY_LIMIT_BYTES. The plugin also takes multipart bodies
 *   and streams them to tRPC whole, unbounded; no procedure takes form data, so anything but JSON
 *   is 415 UNSUPPORTED_MEDIA_TYPE before a byte of it is read.
 * - At most TRPC_BATCH_MAX_CALLS calls per batch, counted from the path before the body is read:
 *   one request must not fan out into hundreds of WeChat calls.
 * - `Cache-Control: no-store` on every answer: they carry tokens and users' data.
 * - Refusals before tRPC runs get tRPC's error shape with a reason.
 */
export function registerTrpcRoute(app: FastifyInstance, services: AppServices): void {
  const { config, logger } = services;
  const maxCalls = config.http.batchMaxCalls;

  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));

    scope.addHook('onRequest', async (req, reply) => {
      reply.header('cache-control', 'no-store');
      const calls = batchPaths(req)?.length ?? 1;
      if (calls > maxCalls) throw new AppError('PAYLOAD_TOO_LARGE', `A batch holds at most ${maxCalls} calls; this one has ${calls}`);
    });

    scope.setErrorHandler((error: FastifyError, req, reply) => {
      if (error instanceof AppError) return sendTrpcError(req, reply, error.reason, error.message, maxCalls);
      const refusal = refusalOf(error, { bodyLimitBytes: config.bodyLimitBytes });
      if (refusal) return sendTrpcError(req, reply, refusal.reason, refusal.message, maxCalls);
      logger.error({ err: error, url: req.url.split('?')[0] }, 'request failed unexpectedly');
      return sendTrpcError(req, reply, 'INTERNAL', 'Internal server error', maxCalls);
    });

    scope.all<{ Params: { path: string } }>('/trpc/:path', (req, reply) =>
      fastifyRequestHandler({
        router: appRouter,
        req,
        res: reply,
        path: req.params.path,
        createContext: ({ req: request }: { req: FastifyRequest }) => contextFromRequest(services, request),
        // RATE_LIMITED answers say when to come back, in the standard header too.
        responseMeta({ errors }: { errors: TRPCError[] }) {
          const retryAfterS = errors.map((e) => (e.cause instanceof AppError ? e.cause.details.retryAfterS : undefined)).find((s) => s !== undefined);
          return retryAfterS === undefined ? {} : { headers: { 'retry-after': String(retryAfterS) } };
        },
      }),
    );
  });
}

/** The procedure paths of a batched call (`/trpc/a,b,c?batch=1`), or undefined for a single call. */
function batchPaths(req: FastifyRequest): string[] | undefined {
  if ((req.query as { batch?: unknown }).batch !== '1') return undefined;
  return (req.params as { path?: string }).path?.split(',') ?? [];
}

/**
 * The body tRPC itself would send for this error: one item, or one per call of a batch. A batch
 * over the limit gets one item for all its calls (tRPC's clients apply it to each): building one
 * per call would let an oversized batch cost us more.
 */
function sendTrpcError(req: FastifyRequest, reply: FastifyReply, reason: Reason, message: string, maxCalls: number) {
  const code = codeOfReason(reason) ?? 'INTERNAL_SERVER_ERROR';
  const config = appRouter._def._config;
  const item = (path: string | undefined) => {
    const error = new TRPCError({ code, message, cause: new AppError(reason, message) });
    const shape = getTRPCErrorShape({ config, error, type: 'unknown', path, input: undefined, ctx: undefined });
    return transformTRPCResponse(config, { error: shape });
  };
  const paths = batchPaths(req);
  const status = getHTTPStatusCodeFromError(new TRPCError({ code }));
  const body = paths && paths.length <= maxCalls ? paths.map(item) : item(paths ? undefined : (req.params as { path?: string }).path);
  return reply.code(status).send(body);
}
