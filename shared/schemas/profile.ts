import { z } from 'zod';
import { plainProfileInput } from './user';

/** user.updateProfile: the fill-in components' nickname and/or avatar; at least one. */
export const updateProfileInput = plainProfileInput
  .partial()
  .refine((v) => v.nickName !== undefined || v.avatarUrl !== undefined, { message: 'send nickName, avatarUrl or both' });
export type UpdateProfileInput = z.infer<typeof updateProfileInput>;

/**
 * user.bindPhone: the one-time `code` of the getPhoneNumber button (current API), or the legacy
 * `{ encryptedData, iv }` that is decrypted with the session_key of the user's last login.
 */
export const bindPhoneInput = z
  .object({
    code: z.string().trim().min(1).max(128).optional(),
    encryptedData: z.string().min(1).max(16_384).optional(),
    iv: z.string().min(1).max(64).optional(),
  })
  .refine((v) => (v.code !== undefined) !== (v.encryptedData !== undefined || v.iv !== undefined), {
    message: 'send either code, or encryptedData with iv',
    path: ['code'],
  });
export type BindPhoneInput = z.infer<typeof bindPhoneInput>;

export const checkSessionOutput = z.object({
  /** False: the session_key WeChat holds is not the one we stored: call wx.login before sending encrypted data. */
  valid: z.boolean(),
});
