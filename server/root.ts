import { z } from 'zod';
import { modules } from './modules';
import { routersOf } from './modules/defineModule';
import { adminRouter } from './routers/admin';
import { authRouter } from './routers/auth';
import { userRouter } from './routers/user';
import { createCallerFactory, publicProcedure, router } from './trpc/init';

export const appRouter = router({
  /** A no-op: liveness through tRPC, and the baseline the benchmark compares against. */
  ping: publicProcedure
    .meta({ openapi: { method: 'GET', path: '/api/ping', summary: 'Liveness: answers "pong"', tags: ['health'], output: z.literal('pong') } })
    .query(() => 'pong' as const),
  auth: authRouter,
  user: userRouter,
  // The team's modules (server/modules/index.ts), each under its name.
  ...routersOf(modules),
  /** Operators only: in process with `admin: true` in the context (scripts/admin.ts); never over HTTP. */
  admin: adminRouter,
});

export type AppRouter = typeof appRouter;

/**
 * Calls procedures in process, for scripts and tests:
 * `createCaller(createContext({ services })).auth.login({ code })`.
 */
export const createCaller = createCallerFactory(appRouter);
export { createContext } from './trpc/context';
