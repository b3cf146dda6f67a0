import type { z } from 'zod';
import { codeOfReason } from '../../shared';
import { appRouter } from '../root';
import { adminProcedure } from '../trpc/adminProcedure';
import { protectedProcedure, rateLimitedProcedure, userLimitedProcedure } from '../trpc/init';
import type { ProcedureMeta, RestExposure } from '../trpc/meta';
import { statusOfReason } from '../errors/classify';

/** A procedure's definition as tRPC keeps it at run time (what trpc-to-openapi reads too). */
export interface ProcedureDef extends Record<string, unknown> {
  type: 'query' | 'mutation' | 'subscription';
  inputs: unknown[];
  output?: z.ZodType;
  middlewares: unknown[];
  meta?: ProcedureMeta;
}

/** A procedure with a REST face: its `.meta({ openapi })` and what is read from the procedure itself. */
export interface RestProcedure {
  /** Dotted, as in the router: `notes.list`. */
  path: string;
  def: ProcedureDef;
  route: RestExposure;
  /** Needs `Authorization: Bearer <accessToken>`: built on protectedProcedure. */
  protect: boolean;
  /** Counted by a rate limit (rateLimitedProcedure, userLimitedProcedure): can answer 429. */
  rateLimited: boolean;
  /** The input schema; none when the procedure takes no input (whatever is sent is ignored). */
  input: unknown;
  /** The output schema for the document: the procedure's own, or the route's `output`. */
  output: z.ZodType | undefined;
  /** Every error status the route can answer (see errorStatuses). */
  errorStatuses: number[];
}

/** The middleware a builder adds, which every procedure made from it carries (tRPC keeps the function itself). */
const middlewareOf = (builder: { _def: { middlewares: unknown[] } }) => builder._def.middlewares.at(-1);
const AUTHENTICATED = middlewareOf(protectedProcedure);
const RATE_LIMITS = [middlewareOf(rateLimitedProcedure), middlewareOf(userLimitedProcedure)];
const ADMIN = middlewareOf(adminProcedure);

/**
 * The error statuses of a route, derived rather than listed by hand:
 * - every route: 400 (a malformed URL or request, bad input), 408 (REQUEST_TIMEOUT: the request
 *   did not arrive in time), 431 (headers too large), 500, 503 (SERVICE_UNAVAILABLE);
 * - a route that reads a body (POST): 413 (PAYLOAD_TOO_LARGE) and 415 (UNSUPPORTED_MEDIA_TYPE);
 * - a protected one: 401 (token) and 403 (a banned user); a rate limited one: 429;
 * - the statuses of the reasons the procedure declares (`reasons` in its meta).
 */
export function errorStatuses(route: Pick<RestExposure, 'method' | 'reasons'>, traits: { protect: boolean; rateLimited: boolean }): number[] {
  return statusUnion(
    [400, 408, 431, 500, 503],
    route.method === 'POST' ? [413, 415] : [],
    traits.protect ? [401, 403] : [],
    traits.rateLimited ? [429] : [],
    (route.reasons ?? []).map(statusOfReason),
  );
}

/** Statuses that no reason's tRPC code gives, with what they mean. */
export const STATUS_WITHOUT_REASON: Record<number, string> = {
  431: 'The request URL or headers are too large (reason INVALID_INPUT)',
};

/** Every status of `lists`, once, in order. */
const statusUnion = (...lists: readonly (readonly number[])[]): number[] => [...new Set(lists.flat())].sort((a, b) => a - b);

let walked: RestProcedure[] | undefined;

/**
 * Every procedure of the router that declares `.meta({ openapi })`, in router order: the `/api`
 * routes (restRoutes.ts) and the document (openapi.ts) are both built from this, so a module's
 * procedure gets its route by declaring it, and nothing else lists routes. Fails at start on what
 * could not be served: an operators' procedure (never over HTTP), a path parameter, two procedures
 * on one route, a reason nobody defined.
 */
export function restProcedures(): RestProcedure[] {
  if (walked) return walked;
  const procedures = appRouter._def.procedures as unknown as Record<string, { _def: ProcedureDef }>;
  const seen = new Set<string>();
  const found: RestProcedure[] = [];
  for (const [path, { _def: def }] of Object.entries(procedures)) {
    const route = def.meta?.openapi;
    if (!route) continue;
    const where = `${path} (${route.method} ${route.path})`;
    if (def.middlewares.includes(ADMIN)) throw new Error(`${where}: operators' procedures have no REST route`);
    if (def.type === 'subscription') throw new Error(`${where}: subscriptions have no REST route`);
    if (/[{:]/.test(route.path)) throw new Error(`${where}: no path parameters; take the input from the query string or the body`);
    if (seen.has(`${route.method} ${route.path}`)) throw new Error(`${where}: another procedure has this route`);
    seen.add(`${route.method} ${route.path}`);
    for (const reason of route.reasons ?? []) if (codeOfReason(reason) === undefined) throw new Error(`${where}: reason ${reason} is defined nowhere (defineReasons)`);
    const protect = def.middlewares.includes(AUTHENTICATED);
    const rateLimited = RATE_LIMITS.some((m) => def.middlewares.includes(m));
    found.push({
      path,
      def,
      route,
      protect,
      rateLimited,
      input: def.inputs[0],
      output: def.output ?? route.output,
      errorStatuses: errorStatuses(route, { protect, rateLimited }),
    });
  }
  walked = found;
  return found;
}
