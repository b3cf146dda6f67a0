import { getTRPCErrorFromUnknown, initTRPC, type TRPCError } from '@trpc/server';
import { ipBucketKey } from '../rateLimit/ipBucket';
import { authenticate } from '../services/authenticate';
import type { Context } from './context';
import type { ProcedureMeta } from './meta';
import { transformer } from '../infra/perf/reusedOutputs';
import { classifyError } from '../errors/classify';
import { asClassifiedTrpcError, formatTrpcError } from './errorShape';

const t = initTRPC.context<Context>().meta<ProcedureMeta>().create({
  transformer,
  // Never put stacks into responses, whatever NODE_ENV says.
  isDev: false,
  errorFormatter: ({ shape, error }) => formatTrpcError(shape, error),
});

/** Procedures whose outcomes are counted in the metrics (logins and registrations by reason). */
const COUNTED = new Set(['auth.login', 'auth.register']);

/**
 * Throws a failure under its classification's tRPC code (server/errors/classify.ts), and records the outcome of every call: one log line
 * (request id, procedure, outcome reason, duration; never input, never a token) and, for the
 * auth procedures, a metric. `run` is the rest of the call; a failure it throws counts too.
 */
async function withOutcome<R extends { ok: boolean }>(opts: { ctx: Context; path: string; type: string }, run: () => Promise<R>): Promise<R> {
  const { ctx, path, type } = opts;
  const started = performance.now();
  let result: R | undefined;
  let thrown: unknown;
  try {
    result = await run();
  } catch (err) {
    thrown = err;
  }
  const durationMs = Math.round((performance.now() - started) * 10) / 10;
  // tRPC hands a failure of the layers below as a result; one of `run` itself is thrown.
  const failure = result === undefined ? getTRPCErrorFromUnknown(thrown) : result.ok ? undefined : (result as unknown as { error: TRPCError }).error;
  const classified = failure ? classifyError(failure) : undefined;
  const reason = classified ? classified.reason : 'ok';
  if (COUNTED.has(path)) ctx.services.metrics.authOutcome(path, reason);
  if (classified?.unexpected) {
    ctx.log.error({ procedure: path, type, durationMs, outcome: reason, err: failure!.cause ?? failure }, 'procedure failed unexpectedly');
  } else {
    ctx.log.info({ procedure: path, type, durationMs, outcome: reason }, 'procedure');
  }
  if (failure) throw asClassifiedTrpcError(failure, classified!);
  return result!;
}

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use((opts) => withOutcome(opts, () => opts.next()));

/** The auth procedures anyone can call are limited per client IP (and, in the services, per openid). */
export const rateLimitedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  await ctx.services.auth.limiter.check('ip', ipBucketKey(ctx.clientIp));
  return next();
});

/**
 * Requires `Authorization: Bearer <accessToken>` naming an active user and a live session;
 * narrows ctx.user and adds ctx.claims. One middleware with the outcome's, not one more after it:
 * each tRPC middleware costs a few microseconds and allocations on every call, and this is the
 * path of every authenticated call.
 */
export const protectedProcedure = t.procedure.use((opts) =>
  withOutcome(opts, async () => {
    const { user, openId, claims } = await authenticate(opts.ctx.services, opts.ctx.authorization);
    // Only what it adds: tRPC merges it into the context itself.
    return opts.next({ ctx: { user, openId, claims } });
  }),
);

/**
 * Protected procedures that call WeChat or write (bindPhone, checkSession, updateProfile): limited
 * per user, in one bucket with the avatar upload, so that neither a loop nor one batch of many
 * calls turns into as many WeChat calls or writes.
 */
export const userLimitedProcedure = protectedProcedure.use(async ({ ctx, next }) => {
  await ctx.services.auth.limiter.check('user', ctx.claims.userId);
  return next();
});
