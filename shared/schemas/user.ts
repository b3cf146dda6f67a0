import { z } from 'zod';

export const userStatus = z.enum(['active', 'banned']);
export type UserStatus = z.infer<typeof userStatus>;

/** 0 unknown, 1 male, 2 female: WeChat's own encoding. */
export const gender = z.union([z.literal(0), z.literal(1), z.literal(2)]);

/**
 * A nickname and avatar from the avatar/nickname fill-in components: the only real profile a
 * mini program gets since 2022, sent as plain fields.
 */
export const plainProfileInput = z.object({
  nickName: z.string().trim().min(1).max(64),
  avatarUrl: z
    .url({ protocol: /^https$/, hostname: z.regexes.domain })
    .max(1024)
    .optional(),
});
export type PlainProfileInput = z.infer<typeof plainProfileInput>;

/** The user as the API shows it. Never carries the session_key or any other secret. `openId` is the one of the app that asks. */
export const userOutput = z.object({
  id: z.string(),
  openId: z.string(),
  unionId: z.string().nullable(),
  nickName: z.string().nullable(),
  avatarUrl: z.string().nullable(),
  gender: gender.nullable(),
  language: z.string().nullable(),
  city: z.string().nullable(),
  province: z.string().nullable(),
  country: z.string().nullable(),
  status: userStatus,
  createdAt: z.date(),
  updatedAt: z.date(),
  lastLoginAt: z.date().nullable(),
  /** Bound with user.bindPhone. */
  phone: z
    .object({ countryCode: z.string(), purePhoneNumber: z.string(), phoneNumber: z.string() })
    .nullable(),
});
export type UserOutput = z.infer<typeof userOutput>;

/**
 * auth.me: the user, and the documents of CONSENT_VERSIONS the user has not accepted at their
 * current version (empty when nothing is due): the app shows those and calls user.recordConsent.
 */
export const meOutput = userOutput.extend({
  consentRequired: z.array(z.string()),
});
export type MeOutput = z.infer<typeof meOutput>;
