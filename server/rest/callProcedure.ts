import type { FastifyRequest } from 'fastify';
import type { AppServices } from '../appServices';
import { createCaller } from '../root';
import { contextFromRequest } from '../trpc/requestContext';

/**
 * The procedures, called in process with the context tRPC's own adapter builds from a request
 * (server/http.ts): same validation, errors, rate limits and logging as over /trpc.
 */
export function callerForRequest(services: AppServices, req: FastifyRequest) {
  return createCaller(contextFromRequest(services, req));
}

type Caller = ReturnType<typeof callerForRequest>;

/** Calls `auth.login` ... by its dotted path (one restProcedures found), with an input still to be validated by the procedure. */
export function callByPath(caller: Caller, path: string, input: unknown): Promise<unknown> {
  let target: unknown = caller;
  for (const key of path.split('.')) target = (target as Record<string, unknown>)[key];
  return (target as (input: unknown) => Promise<unknown>)(input);
}
