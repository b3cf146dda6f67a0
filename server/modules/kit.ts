import type { inferProcedureBuilderResolverOptions } from '@trpc/server';
import { protectedProcedure } from '../trpc/init';

/**
 * Everything a module (server/modules/<name>/) uses from the core, from this one place; a module
 * imports nothing else of the server. See docs/extending.md.
 *
 * - Procedures: `publicProcedure` (anyone), `protectedProcedure` (requires
 *   `Authorization: Bearer <accessToken>` of an active user and a live session; adds `ctx.user`,
 *   `ctx.claims`), `userLimitedProcedure` (protected, and counted in the per-user rate limit: use
 *   it for what writes or calls out), `rateLimitedProcedure` (public, limited per client IP).
 *   `.meta({ openapi: { method, path, summary, reasons } })` gives a procedure a REST route.
 * - `Context` / `UserContext`: what procedures and service functions get (server/trpc/context.ts):
 *   `db`, `log`, `now()`, `limiter`, `clientIp`, `userAgent`, `appId`; with a token also `user`
 *   (the user document), `openId` and `claims` (`claims.userId` is the user's id as a string).
 * - `AppError(reason, message, details?)`: an expected failure; the message is shown to the user.
 * - `defineReasons({ NAME: 'TRPC_CODE' })`: the module's own reasons.
 * - `defineModel(name, schema)`: the module's mongoose model, on the shared connection.
 * - `defineModule({ router, onUserDeleted, exportUserData })`: the module itself, with what it does
 *   when a user's data is deleted or exported (`ModuleHookContext`: `db`, `log`, `now()`).
 */
export { protectedProcedure, publicProcedure, rateLimitedProcedure, router, userLimitedProcedure } from '../trpc/init';
export type { Context } from '../trpc/context';
export { AppError } from '../errors';
export { defineReasons } from '../../shared/reasons';
export { defineModel } from '../db/defineModel';
export { defineModule, type ModuleHookContext } from './defineModule';
export { DEFAULT_PAGE_SIZE } from '../services/paging';

/** The context of a protectedProcedure: the Context plus `user`, `openId` and `claims`. */
export type UserContext = inferProcedureBuilderResolverOptions<typeof protectedProcedure>['ctx'];
