import { z } from 'zod';
import { AppError } from '../errors';
import { checkWatermark, decryptWeChatData, type WatermarkPolicy } from './dataCrypto';
import { verifyRawDataSignature } from './rawDataSignature';

export interface UserDataInput {
  encryptedData?: string | undefined;
  iv?: string | undefined;
  rawData?: string | undefined;
  signature?: string | undefined;
}

/** Profile fields WeChat's (legacy) user info carries. Wrongly typed fields are dropped, not fatal. */
const field = <T extends z.ZodType>(schema: T) => schema.optional().catch(undefined);
const weChatProfile = z.object({
  nickName: field(z.string().max(64)),
  avatarUrl: field(z.string().max(1024)),
  gender: field(z.union([z.literal(0), z.literal(1), z.literal(2)])),
  language: field(z.string().max(32)),
  city: field(z.string().max(64)),
  province: field(z.string().max(64)),
  country: field(z.string().max(64)),
});
export type WeChatProfile = z.infer<typeof weChatProfile>;

/** WeChat's sample of decrypted user info carries it; code2Session leaves it out at times. */
const decryptedUnionId = z.object({ unionId: z.string().min(1).max(128) });

export interface VerifiedUserData {
  /** Null when no user data was sent. */
  profile: WeChatProfile | null;
  /** From the decrypted data only (rawData never carries it); null when absent. */
  unionId: string | null;
}

/**
 * encryptedData with its iv, or neither: one without the other is ENCRYPTED_DATA_INCOMPLETE, not
 * a decryption attempt on a missing value. Every input that carries encrypted data goes through this.
 */
export function encryptedPair(input: { encryptedData?: string | undefined; iv?: string | undefined }): { encryptedData: string; iv: string } | null {
  if (input.encryptedData === undefined && input.iv === undefined) return null;
  if (input.encryptedData === undefined || input.iv === undefined) {
    throw new AppError('ENCRYPTED_DATA_INCOMPLETE', 'encryptedData and iv must be sent together');
  }
  return { encryptedData: input.encryptedData, iv: input.iv };
}

/**
 * Verifies whatever signed or encrypted user data came with a login, against the session_key
 * WeChat just gave us for this code, and returns the profile it carries and the unionId inside
 * the encrypted data (decrypting with this session_key and the watermark prove both are WeChat's).
 * rawData+signature and encryptedData+iv are each all-or-nothing.
 */
export function verifiedUserData(input: UserDataInput, sessionKey: string, openId: string, watermark: WatermarkPolicy): VerifiedUserData {
  const encrypted = encryptedPair(input);
  if ((input.rawData === undefined) !== (input.signature === undefined)) {
    throw new AppError('ENCRYPTED_DATA_INCOMPLETE', 'rawData and signature must be sent together');
  }

  if (input.rawData !== undefined && input.signature !== undefined) {
    verifyRawDataSignature(input.rawData, input.signature, sessionKey);
  }

  if (encrypted) {
    const data = decryptWeChatData(sessionKey, encrypted.encryptedData, encrypted.iv);
    checkWatermark(data, watermark);
    // Legacy getUserInfo data names its user; it must be the one this code belongs to.
    if (data.openId !== undefined && data.openId !== openId) {
      throw new AppError('ENCRYPTED_DATA_INVALID', 'encryptedData belongs to another user');
    }
    const unionId = decryptedUnionId.safeParse(data);
    return { profile: weChatProfile.parse(data), unionId: unionId.success ? unionId.data.unionId : null };
  }

  if (input.rawData !== undefined) {
    let raw: unknown;
    try {
      raw = JSON.parse(input.rawData);
    } catch {
      throw new AppError('ENCRYPTED_DATA_INVALID', 'rawData is not JSON');
    }
    return { profile: weChatProfile.parse(typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw : {}), unionId: null };
  }
  return { profile: null, unionId: null };
}
