import { z } from 'zod';
import { plainProfileInput } from './user';

/** user.updateProfile: the fill-in components' nickname and/or avatar; at least one. */
export const updateProfileInput = plainProfileInput
  .partial()
  .refine((v) => v.nickName !== undefined || v.avatarUrl !== undefined, { message: 'send nickName, avatarUrl or both' });
export type UpdateProfileInput = z.infer<typeof updateProfileInput>;

/**
 * The getPhoneNumber button's `cloudID`, sent as `wx.cloud.CloudID(cloudID)` in a top-level field
 * of a callContainer JSON body: WeChat Cloud Hosting's gateway replaces it with the open data.
 */
export const cloudPhoneData = z.object({
  cloudID: z.string().min(1).max(512),
  data: z.object({
    phoneNumber: z.string().min(1).max(32),
    purePhoneNumber: z.string().regex(/^\d{3,20}$/),
    countryCode: z.string().regex(/^\d{1,4}$/),
    watermark: z.object({ appid: z.string(), timestamp: z.number() }),
  }),
});
export type CloudPhoneData = z.infer<typeof cloudPhoneData>;

/**
 * user.bindPhone: the one-time `code` of the getPhoneNumber button (current API), the legacy
 * `{ encryptedData, iv }` that is decrypted with the session_key of the user's last login, or on
 * WeChat Cloud Hosting the `cloudID` the gateway replaced with the number.
 */
export const bindPhoneInput = z
  .object({
    code: z.string().trim().min(1).max(128).optional(),
    encryptedData: z.string().min(1).max(16_384).optional(),
    iv: z.string().min(1).max(64).optional(),
    cloudID: cloudPhoneData.optional(),
  })
  .refine(
    (v) => [v.code !== undefined, v.encryptedData !== undefined || v.iv !== undefined, v.cloudID !== undefined].filter(Boolean).length === 1,
    { message: 'send either code, or encryptedData with iv, or (on WeChat Cloud Hosting) cloudID', path: ['code'] },
  );
export type BindPhoneInput = z.infer<typeof bindPhoneInput>;

export const checkSessionOutput = z.object({
  /** False: the session_key WeChat holds is not the one we stored: call wx.login before sending encrypted data. */
  valid: z.boolean(),
});
