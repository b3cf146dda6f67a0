import { initTRPC } from '@trpc/server';
import superjson from 'superjson';
import { authenticate } from '../services/authenticate';
import type { Context } from './context';
import { errorData, INTERNAL_MESSAGE, isJavaScriptError, toTRPCError, UNDECODABLE_MESSAGE } from './errorShape';

const t = initTRPC.context<Context>().create({
  transformer: superjson,
  // Never put stacks into responses, whatever NODE_ENV says.
  isDev: false,
  errorFormatter({ shape, error }) {
    const data = errorData(error);
    const internal = data.reason === 'INTERNAL';
    // tRPC's own input decoding can fail with a JavaScript error whose text is an internal detail.
    const undecodable = data.reason === 'INVALID_INPUT' && !data.issues && isJavaScriptError(error.cause);
    return {
      ...shape,
      message: internal ? INTERNAL_MESSAGE : undecodable ? UNDECODABLE_MESSAGE : shape.message,
      data: { code: shape.data.code, httpStatus: shape.data.httpStatus, path: shape.data.path, ...data },
    };
  },
});

/**
 * Maps expected failures to their tRPC code and logs the outcome of every call. The log line
 * carries the path, duration and reason only: never input, never a token.
 */
const outcome = t.middleware(async ({ ctx, path, type, next }) => {
  const started = performance.now();
  const result = await next();
  const durationMs = Math.round((performance.now() - started) * 10) / 10;
  if (result.ok) {
    ctx.services.logger.debug({ path, type, durationMs, outcome: 'ok' }, 'procedure');
    return result;
  }
  const mapped = toTRPCError(result.error);
  const reason = errorData(mapped).reason;
  if (reason === 'INTERNAL') {
    ctx.services.logger.error({ path, type, durationMs, reason, err: mapped.cause ?? mapped }, 'procedure failed unexpectedly');
  } else {
    ctx.services.logger.info({ path, type, durationMs, reason }, 'procedure rejected');
  }
  throw mapped;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use(outcome);

/** The auth procedures anyone can call are limited per client IP (and, in the services, per openid). */
export const rateLimitedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  await ctx.services.auth.limiter.check('ip', ctx.clientIp ?? '');
  return next();
});

/**
 * Requires `Authorization: Bearer <accessToken>` naming an active user and a live session;
 * narrows ctx.user and adds ctx.claims.
 */
export const protectedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const { user, openId, claims } = await authenticate(ctx.services, ctx.authorization);
  return next({ ctx: { ...ctx, user, openId, claims } });
});
