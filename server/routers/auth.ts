import {
  loginInput,
  loginOutput,
  logoutAllOutput,
  meOutput,
  logoutOutput,
  refreshInput,
  refreshOutput,
  registerInput,
  registerOutput,
} from '../../shared';
import { login, logout, logoutAll, refresh, register } from '../services/auth';
import type { Context } from '../trpc/context';
import { reusedMeOutput } from '../infra/perf/reusedOutputs';
import { protectedProcedure, rateLimitedProcedure, router } from '../trpc/init';

const client = (ctx: Context) => ({ userAgent: ctx.userAgent, ip: ctx.clientIp });

export const authRouter = router({
  login: rateLimitedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/api/auth/login',
        summary: 'Log in with a wx.login code (unknown user: 401 USER_NOT_REGISTERED with a registrationTicket)',
        reasons: ['USER_NOT_REGISTERED', 'USER_BANNED', 'WECHAT_USER_BLOCKED', 'WECHAT_RATE_LIMITED', 'WECHAT_ERROR'],
      },
    })
    .input(loginInput)
    .output(loginOutput)
    .mutation(({ ctx, input }) => login(ctx.services.auth, input, ctx.appId, client(ctx), ctx.gatewayCaller)),

  register: rateLimitedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/api/auth/register',
        summary: 'Register with a wx.login code or the registrationTicket of a USER_NOT_REGISTERED login',
        reasons: [
          'REGISTRATION_TICKET_INVALID',
          'USER_BANNED',
          'WECHAT_USER_BLOCKED',
          'USER_EXISTS',
          'CONSENT_DOCUMENT_UNKNOWN',
          'CONSENT_VERSION_NOT_CURRENT',
          'WECHAT_RATE_LIMITED',
          'WECHAT_ERROR',
        ],
      },
    })
    .input(registerInput)
    .output(registerOutput)
    .mutation(({ ctx, input }) => register(ctx.services.auth, input, ctx.appId, client(ctx), ctx.gatewayCaller)),

  refresh: rateLimitedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/api/auth/refresh',
        summary: 'Trade a refresh token for a new token pair (single-use; a reused token revokes the session)',
        reasons: ['REFRESH_TOKEN_INVALID', 'REFRESH_TOKEN_EXPIRED', 'REFRESH_TOKEN_REUSED', 'USER_BANNED'],
      },
    })
    .input(refreshInput)
    .output(refreshOutput)
    .mutation(({ ctx, input }) => refresh(ctx.services.auth, input.refreshToken, client(ctx))),

  logout: protectedProcedure
    .meta({ openapi: { method: 'POST', path: '/api/auth/logout', summary: 'End the session of this access token' } })
    .output(logoutOutput).mutation(({ ctx }) => logout(ctx.services.auth, ctx.claims.userId, ctx.claims.sessionId)),

  logoutAll: protectedProcedure
    .meta({ openapi: { method: 'POST', path: '/api/auth/logout-all', summary: 'End every session of the user' } })
    .output(logoutAllOutput).mutation(({ ctx }) => logoutAll(ctx.services.auth, ctx.claims.userId)),

  // Validated against meOutput where it is built (once per cached user and consent list); the
  // document takes the schema from the meta. consentRequired comes from memory on a cached call.
  me: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/api/auth/me',
        summary: 'The user of this access token, and the documents (CONSENT_VERSIONS) not accepted at their current version',
        output: meOutput,
      },
    })
    .query(({ ctx }) => {
      const { user, openId, services } = ctx;
      const required = services.auth.consents.store.required(ctx.claims.userId);
      // From memory (or nothing configured): answered at once, without a promise of its own.
      if (Array.isArray(required)) return reusedMeOutput(user, openId, required, services.avatarUrls);
      return (required as Promise<readonly string[]>).then((list) => reusedMeOutput(user, openId, list, services.avatarUrls));
    }),
});
