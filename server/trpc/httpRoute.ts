import { fastifyRequestHandler } from '@trpc/server/adapters/fastify';
import type { TRPCError } from '@trpc/server';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppServices } from '../appServices';
import { AppError } from '../errors';
import { classifyError, type ClassifiedError } from '../errors/classify';
import { appRouter } from '../root';
import { trpcErrorItems } from './errorShape';
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
      const classified = classifyError(error, { kind: 'body', bodyLimitBytes: config.bodyLimitBytes });
      if (classified.unexpected) logger.error({ err: error, url: req.url.split('?')[0] }, 'request failed unexpectedly');
      return sendTrpcError(req, reply, classified, maxCalls);
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
          const retryAfterS = errors.map((e) => classifyError(e).data.retryAfterS).find((s) => s !== undefined);
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
function sendTrpcError(req: FastifyRequest, reply: FastifyReply, classified: ClassifiedError, maxCalls: number) {
  const paths = batchPaths(req);
  const body =
    paths && paths.length <= maxCalls
      ? trpcErrorItems(appRouter, classified, paths)
      : trpcErrorItems(appRouter, classified, [paths ? undefined : (req.params as { path?: string }).path])[0];
  return reply.code(classified.status).send(body);
}
