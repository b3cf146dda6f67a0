import { initTRPC } from '@trpc/server';
import { authenticate } from '../services/authenticate';
import type { Context } from './context';
import { transformer } from './reusedOutputs';
import { errorData, INTERNAL_MESSAGE, isJavaScriptError, toTRPCError, UNDECODABLE_MESSAGE } from './errorShape';

const t = initTRPC.context<Context>().create({
  transformer,
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

/** Procedures whose outcomes are counted in the metrics (logins and registrations by reason). */
const COUNTED = new Set(['auth.login', 'auth.register']);

/**
 * Maps expected failures to their tRPC code, and records the outcome of every call: one log line
 * (request id, procedure, outcome reason, duration; never input, never a token) and, for the
 * auth procedures, a metric.
 */
const outcome = t.middleware(async ({ ctx, path, type, next }) => {
  const started = performance.now();
  const result = await next();
  const durationMs = Math.round((performance.now() - started) * 10) / 10;
  const mapped = result.ok ? undefined : toTRPCError(result.error);
  const reason = mapped ? errorData(mapped).reason : 'ok';
  if (COUNTED.has(path)) ctx.services.metrics.authOutcome(path, reason);
  if (reason === 'INTERNAL') {
    ctx.log.error({ procedure: path, type, durationMs, outcome: reason, err: mapped!.cause ?? mapped }, 'procedure failed unexpectedly');
  } else {
    ctx.log.info({ procedure: path, type, durationMs, outcome: reason }, 'procedure');
  }
  if (mapped) throw mapped;
  return result;
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
  // Only what it adds: tRPC merges it into the context itself (spreading ctx here copied it twice).
  return next({ ctx: { user, openId, claims } });
});
