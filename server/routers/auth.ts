import {
  loginInput,
  loginOutput,
  logoutAllOutput,
  logoutOutput,
  refreshInput,
  refreshOutput,
  registerInput,
  registerOutput,
} from '../../shared';
import { login, logout, logoutAll, refresh, register } from '../services/auth';
import type { Context } from '../trpc/context';
import { reusedUserOutput } from '../trpc/reusedOutputs';
import { protectedProcedure, rateLimitedProcedure, router } from '../trpc/init';

const client = (ctx: Context) => ({ userAgent: ctx.userAgent, ip: ctx.clientIp });

export const authRouter = router({
  login: rateLimitedProcedure
    .input(loginInput)
    .output(loginOutput)
    .mutation(({ ctx, input }) => login(ctx.services.auth, input, ctx.appId, client(ctx), ctx.gatewayCaller)),

  register: rateLimitedProcedure
    .input(registerInput)
    .output(registerOutput)
    .mutation(({ ctx, input }) => register(ctx.services.auth, input, ctx.appId, client(ctx), ctx.gatewayCaller)),

  refresh: rateLimitedProcedure
    .input(refreshInput)
    .output(refreshOutput)
    .mutation(({ ctx, input }) => refresh(ctx.services.auth, input.refreshToken, client(ctx))),

  logout: protectedProcedure.output(logoutOutput).mutation(({ ctx }) => logout(ctx.services.auth, ctx.claims.userId, ctx.claims.sessionId)),

  logoutAll: protectedProcedure.output(logoutAllOutput).mutation(({ ctx }) => logoutAll(ctx.services.auth, ctx.claims.userId)),

  // Validated against userOutput where it is built (once per cached user); the document takes
  // the schema from the route table.
  me: protectedProcedure.query(({ ctx }) => reusedUserOutput(ctx.user, ctx.openId, ctx.services.avatarUrls)),
});
