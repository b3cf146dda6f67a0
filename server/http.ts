import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { fastifyTRPCPlugin } from '@trpc/server/adapters/fastify';
import { TRPCError, getTRPCErrorShape, transformTRPCResponse, type TRPC_ERROR_CODE_KEY } from '@trpc/server';
import { randomUUID } from 'node:crypto';
import type { AppServices } from './appServices';
import { registerAvatarRoutes } from './avatars/routes';
import { requireGatewayHeaders } from './cloudHosting/gatewayGuard';
import { registerRestRoutes } from './rest';
import { AppError } from './errors';
import { appRouter } from './root';
import { contextFromRequest } from './trpc/requestContext';

export interface HttpServer {
  app: FastifyInstance;
  /** Listens; resolves with the base URL, e.g. http://127.0.0.1:3000 */
  start(opts?: { host?: string; port?: number }): Promise<string>;
  /** Stops accepting, lets requests in flight finish, closes keep-alive sockets. */
  stop(): Promise<void>;
}

/** Errors Fastify raises before tRPC sees the request, by HTTP status. */
const FASTIFY_STATUS_TO_TRPC: Record<number, TRPC_ERROR_CODE_KEY> = {
  400: 'BAD_REQUEST',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

export function createHttpServer(services: AppServices): HttpServer {
  const { config, logger } = services;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One line per request is written by the onResponse hook below (no query string: it can carry
    // input); Fastify's own two lines per request would only repeat it.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
    // A request id from the load balancer is kept when it looks like one; otherwise a new one.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    },
    bodyLimit: config.bodyLimitBytes,
    // Behind a load balancer, TRUST_PROXY says whose X-Forwarded-For to believe for the client IP.
    // (a boolean, a hop count or addresses: Fastify takes each; the cast only picks an overload)
    trustProxy: config.trustProxy as boolean,
    forceCloseConnections: 'idle',
    // A batch names every procedure in the path (`/trpc/a,b,c`); Fastify's default of 100 characters
    // would turn a batch of more than a dozen calls into a 404.
    routerOptions: { maxParamLength: 5000 },
    // Requests Fastify refuses before routing (a malformed URL, a path over maxParamLength) and
    // that Node refuses before Fastify (headers over 16 KB) still get a JSON body with a reason.
    frameworkErrors: (error, _req, reply) => {
      const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
      const body = { error: { reason: 'INVALID_INPUT', message: tooLong ? 'The request path is too long' : 'The request URL is malformed' } };
      (reply as unknown as { code(n: number): { send(b: unknown): void } }).code(tooLong ? 414 : 400).send(body);
    },
    clientErrorHandler: (error: Error & { code?: string }, socket) => {
      if (!socket.writable) return socket.destroy();
      const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
      const body = JSON.stringify({
        error: { reason: 'INVALID_INPUT', message: tooLarge ? 'The request URL or headers are too large' : 'The request is not valid HTTP' },
      });
      socket.end(
        `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    },
  });

  // On WeChat Cloud Hosting, nothing but the gateway's requests (and the platform's probes) gets in.
  if (config.wechat.cloudHosting) requireGatewayHeaders(app);

  app.register(fastifyTRPCPlugin, {
    prefix: '/trpc',
    trpcOptions: {
      router: appRouter,
      createContext: ({ req }: { req: FastifyRequest }) => contextFromRequest(services, req),
      // RATE_LIMITED answers say when to come back, in the standard header too.
      responseMeta({ errors }: { errors: TRPCError[] }) {
        const retryAfterS = errors.map((e) => (e.cause instanceof AppError ? e.cause.details.retryAfterS : undefined)).find((s) => s !== undefined);
        return retryAfterS === undefined ? {} : { headers: { 'retry-after': String(retryAfterS) } };
      },
    },
  });

  // Public keys of asymmetric JWT keys, so another service can verify access tokens on its own.
  app.get('/.well-known/jwks.json', async () => services.tokens.jwks());

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  app.addHook('onResponse', async (req, reply) => {
    req.log.info(
      { method: req.method, path: req.url.split('?')[0]!.slice(0, 200), status: reply.statusCode, durationMs: Math.round(reply.elapsedTime * 10) / 10 },
      'request',
    );
  });

  // Prometheus scrapes this; it holds counts and timings only (no users, no tokens). Keep it on
  // the internal network in production.
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', services.metrics.registry.contentType);
    return services.metrics.registry.metrics();
  });

  app.get('/healthz', async (_req, reply) => {
    const up = await services.db.ping();
    return reply.code(up ? 200 : 503).send({ status: up ? 'ok' : 'unavailable', database: up ? 'up' : 'down' });
  });

  // POST /avatar (wx.uploadFile) and GET /avatars/:id, with multipart parsing in their own scope.
  registerAvatarRoutes(app, services);
  registerRestRoutes(app, services);

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: { reason: 'NOT_FOUND', message: `No route for ${req.method} ${req.url.split('?')[0]}` } });
  });

  // A body over the limit, a wrong content type...: answered before tRPC runs, so give them the
  // tRPC error shape (with a reason) on /trpc and a small JSON error elsewhere. Never a stack.
  app.setErrorHandler((error: FastifyError, req, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) logger.error({ err: error, url: req.url.split('?')[0] }, 'request failed unexpectedly');
    const code = FASTIFY_STATUS_TO_TRPC[status] ?? (status === 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST');
    const message =
      code === 'PAYLOAD_TOO_LARGE'
        ? `Request body is larger than ${config.bodyLimitBytes} bytes`
        : code === 'INTERNAL_SERVER_ERROR'
          ? 'Internal server error'
          : error.message;
    if (!req.url.startsWith('/trpc/')) {
      const reason = code === 'PAYLOAD_TOO_LARGE' ? 'PAYLOAD_TOO_LARGE' : code === 'INTERNAL_SERVER_ERROR' ? 'INTERNAL' : 'INVALID_INPUT';
      return reply.code(status).send({ error: { reason, message } });
    }
    return reply.code(status).send(trpcErrorBody(req, code, message));
  });

  return {
    app,
    async start(opts = {}) {
      await app.listen({ host: opts.host ?? config.host, port: opts.port ?? config.port });
      const address = app.server.address();
      if (!address || typeof address === 'string') throw new Error('server has no TCP address');
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return `http://${host}:${address.port}`;
    },
    stop: () => app.close(),
  };
}

/** The body tRPC itself would send for this error: one item, or one per call of a batch. */
function trpcErrorBody(req: FastifyRequest, code: TRPC_ERROR_CODE_KEY, message: string) {
  const url = new URL(req.url, 'http://localhost');
  const paths = decodeURIComponent(url.pathname.slice('/trpc/'.length)).split(',');
  const reason = code === 'PAYLOAD_TOO_LARGE' ? 'PAYLOAD_TOO_LARGE' : code === 'INTERNAL_SERVER_ERROR' ? 'INTERNAL' : 'INVALID_INPUT';
  const config = appRouter._def._config;
  const items = paths.map((path) => {
    const error = new TRPCError({ code, message, cause: new AppError(reason, message) });
    const shape = getTRPCErrorShape({ config, error, type: 'unknown', path, input: undefined, ctx: undefined });
    return transformTRPCResponse(config, { error: shape });
  });
  return url.searchParams.get('batch') === '1' ? items : items[0];
}
