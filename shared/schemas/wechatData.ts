import { z } from 'zod';

/**
 * What a mini program can send beside a wx.login code. Lengths are bounded so an oversized body
 * fails validation before any crypto runs; the formats themselves (base64, 16-byte iv, hex
 * signature) are checked by the decrypt routine so that a bad value gets a precise reason.
 */
export const encryptedUserDataInput = {
  /** From wx.getUserInfo / wx.getUserProfile with credentials (legacy, now anonymous). */
  encryptedData: z.string().min(1).max(16_384).optional(),
  iv: z.string().min(1).max(64).optional(),
  /** The exact JSON string the app received; signed with the session_key. */
  rawData: z.string().min(1).max(8_192).optional(),
  signature: z.string().min(1).max(128).optional(),
};

/** A wx.login code: 32 characters in practice; single-use and valid for 5 minutes. */
export const wxLoginCode = z.string().trim().min(1).max(128);
