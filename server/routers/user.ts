import {
  bindPhoneInput,
  cancelDeletionOutput,
  checkSessionOutput,
  consentInput,
  dataExportOutput,
  deleteAccountOutput,
  deletionProofInput,
  recordConsentOutput,
  sessionListInput,
  sessionListOutput,
  updateProfileInput,
  userOutput,
} from '../../shared';
import { cancelDeletion, deleteAccount } from '../services/accountDeletion';
import { recordConsent } from '../services/consents';
import { exportUserData } from '../services/dataExport';
import { bindPhone } from '../services/phone';
import { updateProfile } from '../services/profile';
import { checkStoredSessionKey } from '../services/sessionCheck';
import { pageOf } from '../services/paging';
import { listSessions } from '../services/sessions';
import { protectedProcedure, rateLimitedProcedure, router, userLimitedProcedure } from '../trpc/init';

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

  /**
   * Deletes the account: with a fresh wx.login code of the same user (the proof of presence; on
   * Cloud Hosting the gateway's caller). At once, or after ACCOUNT_DELETION_DELAY_DAYS; every
   * session ends at once either way. See docs/reference/account-deletion.md.
   */
  deleteAccount: userLimitedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/api/user/delete-account',
        summary: 'Delete the account (a fresh wx.login code of the same user proves presence): at once, or scheduled after the cooling-off period',
        reasons: ['LOGIN_PROOF_MISMATCH', 'WECHAT_CODE_INVALID', 'WECHAT_CODE_USED', 'WECHAT_RATE_LIMITED', 'WECHAT_ERROR'],
      },
    })
    .input(deletionProofInput)
    .output(deleteAccountOutput)
    .mutation(({ ctx, input }) => deleteAccount(ctx.services.accountDeletion, ctx.claims, input.code, ctx.gatewayCaller)),

  /** Cancels a deletion still in its cooling-off period; the wx.login code names the user (they have no session). */
  cancelDeletion: rateLimitedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/api/user/cancel-deletion',
        summary: 'Cancel a pending account deletion (the wx.login code names the user); then log in again',
        reasons: ['NO_DELETION_PENDING', 'WECHAT_CODE_INVALID', 'WECHAT_CODE_USED', 'WECHAT_RATE_LIMITED', 'WECHAT_ERROR'],
      },
    })
    .input(deletionProofInput)
    .output(cancelDeletionOutput)
    .mutation(({ ctx, input }) => cancelDeletion(ctx.services.accountDeletion, ctx.appId, input.code, ctx.gatewayCaller)),

  /** Records that the user accepted the current version of a document of CONSENT_VERSIONS (privacy policy, terms). */
  recordConsent: userLimitedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/api/user/record-consent',
        summary: 'Record that the user accepted the current version of a document of CONSENT_VERSIONS',
        reasons: ['CONSENT_DOCUMENT_UNKNOWN', 'CONSENT_VERSION_NOT_CURRENT'],
      },
    })
    .input(consentInput)
    .output(recordConsentOutput)
    .mutation(({ ctx, input }) => recordConsent(ctx.services.auth.consents, ctx.claims, input)),

  /**
   * Everything stored about the user, as one JSON document (never a secret). Its own limit,
   * RATE_LIMIT_EXPORT_PER_HOUR (default 5): an export reads every collection the user is in,
   * some by a field the embedded database can only scan for, and a person needs it rarely.
   */
  exportData: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/api/user/export',
        summary: 'Everything stored about the user, as one JSON document (rate-limited per hour)',
        reasons: ['RATE_LIMITED'],
      },
    })
    .output(dataExportOutput)
    .query(async ({ ctx }) => {
      await ctx.limiter.check('export', ctx.claims.userId);
      return exportUserData(ctx.services.dataExport, ctx.claims.userId);
    }),
});
