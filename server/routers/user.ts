import { bindPhoneInput, checkSessionOutput, sessionListInput, sessionListOutput, updateProfileInput, userOutput } from '../../shared';
import { bindPhone } from '../services/phone';
import { updateProfile } from '../services/profile';
import { checkStoredSessionKey } from '../services/sessionCheck';
import { pageOf } from '../services/paging';
import { listSessions } from '../services/sessions';
import { protectedProcedure, router, userLimitedProcedure } from '../trpc/init';

export const userRouter = router({
  /** The user's live sessions (devices), most recently used first, a page at a time; the asking one marked `current`. */
  sessions: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/api/user/sessions', summary: "The user's live sessions, most recently used first, a page at a time (limit, offset)" } })
    .input(sessionListInput)
    .output(sessionListOutput)
    .query(async ({ ctx, input }) => pageOf(await listSessions(ctx.services.auth.sessions, ctx.claims.userId, ctx.claims.sessionId), input)),

  /** Binds the phone number from the getPhoneNumber button: its `code`, or legacy `{ encryptedData, iv }`. */
  bindPhone: userLimitedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/api/user/bind-phone',
        summary: 'Bind the phone number of the getPhoneNumber button (its code, or legacy encryptedData + iv)',
        reasons: ['ENCRYPTED_DATA_INVALID', 'SESSION_KEY_STALE', 'PHONE_ALREADY_BOUND', 'WECHAT_RATE_LIMITED', 'WECHAT_ERROR'],
      },
    })
    .input(bindPhoneInput)
    .output(userOutput)
    .mutation(({ ctx, input }) => bindPhone(ctx.services.platform, ctx.claims, input)),

  /** Nickname and/or avatar URL from the fill-in components. */
  updateProfile: userLimitedProcedure
    .meta({ openapi: { method: 'POST', path: '/api/user/update-profile', summary: 'Set the nickname and/or avatar URL from the fill-in components' } })
    .input(updateProfileInput)
    .output(userOutput)
    .mutation(({ ctx, input }) => updateProfile(ctx.services.platform, ctx.claims, ctx.openId, input)),

  /** Whether the stored session_key is still valid at WeChat (false: wx.login before sending encrypted data). */
  checkSession: userLimitedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/api/user/check-session',
        summary: 'Whether the stored session_key is still the one WeChat holds',
        reasons: ['WECHAT_RATE_LIMITED', 'WECHAT_ERROR'],
      },
    })
    .output(checkSessionOutput).query(({ ctx }) => checkStoredSessionKey(ctx.services.platform, ctx.claims)),
});
