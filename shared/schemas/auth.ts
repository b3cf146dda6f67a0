import { z } from 'zod';
import { registerConsents } from './consent';
import { plainProfileInput, userOutput } from './user';
import { encryptedUserDataInput, wxLoginCode } from './wechatData';

export const loginInput = z.object({
  code: wxLoginCode.optional().meta({ description: 'The wx.login code: required, except on WeChat Cloud Hosting, where the gateway names the user' }),
  ...encryptedUserDataInput,
});
export type LoginInput = z.infer<typeof loginInput>;

const accessTokenFields = {
  accessToken: z.string(),
  tokenType: z.literal('Bearer'),
  /** Seconds until accessToken expires. */
  expiresIn: z.number().int().positive(),
  /** Opaque, single-use: trade it at auth.refresh for a new pair. Keep it secret. */
  refreshToken: z.string(),
  /** Seconds until refreshToken expires. */
  refreshExpiresIn: z.number().int().positive(),
};

export const loginOutput = z.object({
  ...accessTokenFields,
  user: userOutput,
  isNewUser: z.boolean(),
});
export type LoginOutput = z.infer<typeof loginOutput>;

export const registerInput = z
  .object({
    /** A fresh wx.login code ... (on WeChat Cloud Hosting neither is needed: the gateway names the user) */
    code: wxLoginCode.optional(),
    /** ... or the ticket from a USER_NOT_REGISTERED login error, so no second wx.login is needed. */
    registrationTicket: z.string().min(1).max(512).optional(),
    ...encryptedUserDataInput,
    profile: plainProfileInput.optional(),
    /** The documents (CONSENT_VERSIONS) the user accepted on the registration screen: each its current version. */
    consents: registerConsents.optional(),
  })
  // Exactly one outside Cloud Hosting: the service checks the "at least one", which depends on the mode.
  .refine((v) => v.code === undefined || v.registrationTicket === undefined, {
    message: 'send exactly one of code or registrationTicket',
    path: ['code'],
  });
export type RegisterInput = z.infer<typeof registerInput>;

export const registerOutput = z.object({
  userId: z.string(),
  createdAt: z.date(),
  ...accessTokenFields,
  user: userOutput,
});
export type RegisterOutput = z.infer<typeof registerOutput>;

export const refreshTokenValue = z.string().min(1).max(256);

export const refreshInput = z.object({ refreshToken: refreshTokenValue });
export type RefreshInput = z.infer<typeof refreshInput>;

export const refreshOutput = z.object(accessTokenFields);
export type RefreshOutput = z.infer<typeof refreshOutput>;

export const logoutOutput = z.object({ ok: z.literal(true) });
export const logoutAllOutput = z.object({ revokedSessions: z.number().int().min(0) });
