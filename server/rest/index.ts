import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppServices } from '../appServices';
import type { Logger } from '../logger';
import { JSON_ONLY } from '../errors/refusals';
import { acceptRequestBodies, JSON_OR_FORM } from './bodyParsers';
import { registerLegacyRoutes, sendLegacyFailure } from './legacyRoutes';
import type { OpenApiOptions } from './openapi';
import { sendRestError, toRestError, type RestError } from './restErrors';
import { registerProcedureRoutes } from './restRoutes';

/**
 * The HTTP API for clients that do not speak tRPC (uni-app, Taro, other languages):
 * - `GET /openapi.json`: the OpenAPI 3 document, generated from the procedures' zod schemas;
 * - `/api/...`: one REST route per procedure that declares `.meta({ openapi })` (restProcedures.ts);
 * - `POST /user/wxlogin`, `/oauth/token`, `/accounts/wxapp`: legacy blog-handler shapes.
 * All of them call the procedures in process (createCaller), so nothing behaves differently from /trpc.
 */
export function registerRestRoutes(app: FastifyInstance, services: AppServices): void {
  const bodyLimit = services.config.bodyLimitBytes;
  // Built on first request (the generator is loaded only then), then served from memory.
  let document: Promise<string> | undefined;
  const options: OpenApiOptions = { baseUrl: services.config.publicBaseUrl };
  app.get('/openapi.json', async (req, reply) => {
    document ??= import('./openapi').then(({ buildOpenApiDocument }) => JSON.stringify(buildOpenApiDocument(options)));
    try {
      return reply.code(200).type('application/json; charset=utf-8').send(await document);
    } catch (err) {
      document = undefined;
      return sendRestError(reply, toRestError(err, req.log as Logger));
    }
  });

  // Each in a scope of its own: body parsers and the error handler apply to these routes only.
  // Refusals before a handler runs (bad JSON, too large, wrong content type) get the error shape of
  // the routes they were meant for.
  const scoped = (
    form: boolean,
    register: (scope: FastifyInstance) => void,
    send: (req: FastifyRequest, reply: FastifyReply, error: RestError) => unknown,
  ) =>
    app.register(async (scope) => {
      acceptRequestBodies(scope, { form });
      // Every answer here may carry tokens or a user's data: no cache keeps it (RFC 6749 §5.1).
      scope.addHook('onRequest', async (_req, reply) => {
        reply.header('cache-control', 'no-store');
      });
      const accepts = form ? JSON_OR_FORM : JSON_ONLY;
      scope.setErrorHandler((error: FastifyError, req, reply) =>
        send(req, reply, toRestError(error, req.log as Logger, { site: { kind: 'body', bodyLimitBytes: bodyLimit, accepts } })),
      );
      register(scope);
    });

  scoped(false, (scope) => registerProcedureRoutes(scope, services), (_req, reply, error) => sendRestError(reply, error));
  scoped(true, (scope) => registerLegacyRoutes(scope, services), sendLegacyFailure);
}
