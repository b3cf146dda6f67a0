import type { FastifyInstance } from 'fastify';
import type { AppServices } from '../appServices';
import type { Logger } from '../logger';
import { callByPath, callerForRequest } from './callProcedure';
import { queryInput } from './queryInput';
import { sendRestError, toRestError } from './restErrors';
import { restProcedures } from './restProcedures';

/**
 * `/api/...`: one route per procedure that declares `.meta({ openapi })` (restProcedures.ts). POST
 * routes take the input as a JSON body, GET routes as the query string (converted per the input
 * schema, see queryInput). The answer is the procedure's output as plain JSON (Dates as ISO
 * strings); a failure is `{ error: { reason, message, ... } }` with the status of its reason's tRPC
 * code.
 */
export function registerProcedureRoutes(scope: FastifyInstance, services: AppServices): void {
  for (const { path, route, input: inputSchema } of restProcedures()) {
    // A procedure without an input ignores whatever is sent.
    scope.route({
      method: route.method,
      url: route.path,
      handler: async (req, reply) => {
        const query = req.query as Record<string, unknown> | undefined;
        const input =
          inputSchema === undefined ? undefined : route.method === 'GET' ? (query && Object.keys(query).length ? queryInput(inputSchema, query) : undefined) : req.body;
        try {
          const output = await callByPath(callerForRequest(services, req), path, input);
          return reply
            .code(200)
            .type('application/json; charset=utf-8')
            .send(JSON.stringify(output ?? null));
        } catch (err) {
          return sendRestError(reply, toRestError(err, req.log as Logger));
        }
      },
    });
  }
}
