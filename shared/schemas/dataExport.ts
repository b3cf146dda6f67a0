import { z } from 'zod';
import { consentRecord } from './consent';
import { sessionSeenByUser } from './session';
import { gender, userStatus } from './user';

/**
 * user.exportData (and `npm run admin -- export <id>`): everything stored about one user, as one
 * document. Built field by field from an explicit list: no session_key (sealed or not), no token
 * or token hash, no secret of any kind.
 */
export const dataExportOutput = z.object({
  /** The shape of this document; raised when a field changes meaning. */
  format: z.literal('wx-login-backend/user-export/1'),
  exportedAt: z.date(),
  profile: z.object({
    id: z.string(),
    status: userStatus,
    /** The openid in the mini program the user first came from. */
    openId: z.string(),
    registeredAppId: z.string().nullable(),
    unionId: z.string().nullable(),
    nickName: z.string().nullable(),
    /** The uploaded avatar's URL, or the URL the user or WeChat gave. */
    avatarUrl: z.string().nullable(),
    /** True when the avatar is an image stored here (deleted with the account). */
    avatarUploaded: z.boolean(),
    gender: gender.nullable(),
    language: z.string().nullable(),
    city: z.string().nullable(),
    province: z.string().nullable(),
    country: z.string().nullable(),
    createdAt: z.date(),
    updatedAt: z.date(),
    lastLoginAt: z.date().nullable(),
    /** When every session started before it was ended (logoutAll, a ban, an admin revocation). */
    sessionsValidAfter: z.date().nullable(),
    /** When a requested account deletion runs (ACCOUNT_DELETION_DELAY_DAYS); null when none is pending. */
    deletionScheduledFor: z.date().nullable(),
  }),
  phone: z
    .object({ countryCode: z.string(), purePhoneNumber: z.string(), phoneNumber: z.string(), boundAt: z.date() })
    .nullable(),
  /** The user's openid in each mini program, with when it was first seen. */
  identities: z.array(z.object({ appId: z.string(), openId: z.string(), unionId: z.string().nullable(), createdAt: z.date().nullable() })),
  /** Every stored session (login) of the user: device, address, times; ended ones until they are removed. */
  sessions: z.array(
    z.object({
      ...sessionSeenByUser,
      appId: z.string(),
      openId: z.string(),
      endsAt: z.date(),
      revokedAt: z.date().nullable(),
      revokedReason: z.string().nullable(),
    }),
  ),
  /** Acceptances of CONSENT_VERSIONS' documents, oldest first. */
  consents: z.array(consentRecord),
  /** Unused registration tickets of the user's openids (they expire within REGISTRATION_TICKET_TTL_S). */
  registrationTickets: z.array(z.object({ appId: z.string(), openId: z.string(), unionId: z.string().nullable(), createdAt: z.date().nullable(), expiresAt: z.date() })),
  /** Each module's own export (its exportUserData), under the module's name. */
  modules: z.record(z.string(), z.unknown()),
});
export type DataExportOutput = z.infer<typeof dataExportOutput>;
