import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { AppServices } from './appServices';
import { registerApiCors } from './apiCors';
import { registerAvatarRoutes } from './avatars/routes';
import { requireGatewayHeaders } from './cloudHosting/gatewayGuard';
import { STATUS_CODES } from 'node:http';
import { classifyError, type ClassifiedError } from './errors/classify';
import { registerRestRoutes } from './rest';
import { sendRestError, toRestError } from './rest/restErrors';
import { registerTrpcRoute } from './trpc/httpRoute';

export interface HttpServer {
  app: FastifyInstance;
  /** Listens; resolves with the base URL, e.g. http://127.0.0.1:3000 */
  start(opts?: { host?: string; port?: number }): Promise<string>;
  /** Stops accepting, lets requests in flight finish, closes keep-alive sockets. */
  stop(): Promise<void>;
}

/** What Node answers on a socket itself (no route ran), as the JSON error of the plain routes. */
function rawAnswer({ status, reason, message }: ClassifiedError): string {
  const body = JSON.stringify({ error: { reason, message } });
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

export function createHttpServer(services: AppServices): HttpServer {
  const { config, logger } = services;
  const { requestTimeoutMs, connectionTimeoutMs } = config.http;
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
    // A slow client must not hold a connection (and what it sent so far) for as long as it likes:
    // the whole request must arrive within requestTimeout (else 408, below), and a socket that
    // sends nothing is closed after connectionTimeout. Node looks for late requests every
    // connectionsCheckingInterval (30 s by default, too coarse for a 30 s limit).
    requestTimeout: requestTimeoutMs,
    connectionTimeout: connectionTimeoutMs,
    http:
      requestTimeoutMs > 0
        ? { connectionsCheckingInterval: Math.min(1000, Math.max(100, requestTimeoutMs / 4)), headersTimeout: Math.min(60_000, requestTimeoutMs) }
        : {},
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
      const { status, reason, message } = classifyError(error, { kind: 'url' });
      (reply as unknown as { code(n: number): { send(b: unknown): void } }).code(status).send({ error: { reason, message } });
    },
    clientErrorHandler: (error: Error, socket) => {
      if (!socket.writable) return socket.destroy();
      return socket.end(rawAnswer(classifyError(error, { kind: 'socket', requestTimeoutMs })));
    },
  });

  // On WeChat Cloud Hosting, nothing but the gateway's requests (and the platform's probes) gets in.
  if (config.wechat.cloudHosting) requireGatewayHeaders(app);

  // No route at this level reads a body: those that do (/trpc, /api, the legacy routes, /avatar)
  // have their own parsers in their own scopes. What else comes with a body (an unknown route, a
  // body on /healthz) gets its answer without a byte of it read, nor a 413 or 415 in place of the
  // 404; Node discards the rest.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));

  registerTrpcRoute(app, services);

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
  // the internal network in production: with METRICS_PORT it has a listener of its own instead.
  if (config.metricsPort === undefined) {
    app.get('/metrics', async (_req, reply) => {
      reply.header('content-type', services.metrics.registry.contentType);
      return services.metrics.registry.metrics();
    });
  }
  if (config.corsOrigins.length > 0) registerApiCors(app, config.corsOrigins);

  app.get('/healthz', async (_req, reply) => {
    const up = await services.db.ping();
    return reply.code(up ? 200 : 503).send({ status: up ? 'ok' : 'unavailable', database: up ? 'up' : 'down' });
  });

  // POST /avatar (wx.uploadFile) and GET /avatars/:id, with multipart parsing in their own scope.
  registerAvatarRoutes(app, services);
  registerRestRoutes(app, services);

  const notFound = (req: FastifyRequest, reply: FastifyReply) =>
    reply.code(404).send({ error: { reason: 'NOT_FOUND', message: `No route for ${req.method} ${req.url.split('?')[0]}` } });
  app.setNotFoundHandler(notFound);

  // The routes without an error handler of their own (/trpc, /api, the legacy routes and the
  // avatar routes have theirs): a small JSON error with a reason and a fixed message. Never a stack.
  app.setErrorHandler((error: FastifyError, req, reply) => {
    // A request for no route that Fastify refuses before its not-found handler runs (a malformed
    // Content-Type header is 415 whatever the route): still a 404.
    if (req.is404) return notFound(req, reply);
    return sendRestError(reply, toRestError(error, logger, { site: { kind: 'body', bodyLimitBytes: config.bodyLimitBytes }, logLine: 'request failed unexpectedly', url: req.url }));
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
